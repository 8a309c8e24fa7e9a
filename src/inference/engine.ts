// The inference engine: one model session per process, created once, shared by every caller.
import { PermanentError } from '../errors.js';
import type { DecodedImage } from '../images/decode.js';
import { normalizeForModel, resizeForModel } from '../images/model-input.js';
import { findVariant } from '../models/model-variants.js';
import type { ResolvedModel } from '../models/registry.js';
import { collectGarbage } from './collect-garbage.js';
import { defaultOrtSettings, type OrtSettings, sessionSettings } from './ort-settings.js';
import { predictionToMask, resizeMask } from './postprocess.js';
import { type ModelSession, openModelSession, type ValueInfo } from './session.js';
import { sessionModel } from './session-model.js';

export interface MaskTimings {
  preprocessMs: number;
  /** From hand-over to the session thread until the output is back. */
  inferenceMs: number;
  /** Of which inside ONNX Runtime. */
  ortMs: number;
  postprocessMs: number;
}

export interface Engine {
  readonly model: ResolvedModel;
  readonly threads: number;
  /**
   * The soft 8-bit mask of `image` at the image's own size (width × height, one byte per pixel).
   * Concurrent calls overlap their pre- and post-processing; the model runs one image at a time.
   */
  predictMask(image: DecodedImage, timings?: MaskTimings): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface EngineOptions {
  /** ONNX Runtime intra-op threads (config.inference.threads). */
  readonly threads: number;
  /** Memory arena, memory pattern, spinning (config.inference.ort); the measured defaults otherwise. */
  readonly ort?: OrtSettings;
}

export async function createEngine(model: ResolvedModel, options: EngineOptions): Promise<Engine> {
  let session: ModelSession;
  try {
    const settings = sessionSettings(model.spec, options.ort ?? defaultOrtSettings);
    session = await openModelSession(await sessionModel(model), { threads: options.threads, ...settings });
  } catch (error) {
    const variant = findVariant(model.spec.name);
    // a file of the user's own (`models import --custom`, a path) cannot be fetched again
    const again = variant
      ? `; an int8 variant can be built again with \`clearcut models quantize ${variant.base} --force\``
      : 'url' in model.spec && model.spec.url.startsWith('file:')
        ? ''
        : `; a registry model can be fetched again with \`clearcut models pull ${model.spec.name} --force\``;
    throw new PermanentError(
      'model_invalid',
      `Model ${model.spec.name} (${model.path}) cannot be loaded: ${(error as Error).message}. Check that the file is a complete ONNX model${again}.`,
      { cause: error },
    );
  }
  let output: string;
  try {
    output = checkSignature(model, session.inputs, session.outputs);
  } catch (error) {
    await session.close();
    throw error;
  }
  const size = model.spec.inputSize;
  const now = () => performance.now();

  return {
    model,
    threads: options.threads,
    async predictMask(image, timings) {
      let started = now();
      const tensor = normalizeForModel(await resizeForModel(image, size), size, model.spec);
      if (timings) timings.preprocessMs = now() - started;
      started = now();
      // The last image's buffers go before ONNX Runtime's peak, not after it (collect-garbage.ts).
      collectGarbage('minor');
      const result = await session.run(tensor, [1, 3, size, size], output);
      if (timings) {
        timings.inferenceMs = now() - started;
        timings.ortMs = result.runMs;
      }
      started = now();
      const mask = await resizeMask(predictionToMask(result.data, size), size, image.width, image.height);
      if (timings) timings.postprocessMs = now() - started;
      return mask;
    },
    close: () => session.close(),
  };
}

/** The output holding the mask, after checking the graph takes and gives what the registry says. */
function checkSignature(
  model: ResolvedModel,
  inputs: readonly ValueInfo[],
  outputs: readonly ValueInfo[],
): string {
  const { name, inputSize, outputIndex } = model.spec;
  const problem = (detail: string) =>
    new PermanentError(
      'model_invalid',
      `Model ${name} (${model.path}) does not fit its registry entry: ${detail}.`,
    );
  const input = inputs[0];
  const fits = (dim: number | string | undefined, expected: number) =>
    typeof dim === 'string' || dim === expected;
  if (inputs.length !== 1 || !input || input.shape.length !== 4) {
    throw problem(
      `expected one 4-D input, found ${inputs.map((value) => `[${value.shape.join('×')}]`).join(', ')}`,
    );
  }
  const [batch, channels, height, width] = input.shape;
  if (!fits(batch, 1) || !fits(channels, 3) || !fits(height, inputSize) || !fits(width, inputSize)) {
    throw problem(`input is [${input.shape.join('×')}], expected [N×3×${inputSize}×${inputSize}]`);
  }
  const chosen = outputs[outputIndex];
  if (!chosen) throw problem(`output ${outputIndex} does not exist (the graph has ${outputs.length})`);
  return chosen.name;
}
