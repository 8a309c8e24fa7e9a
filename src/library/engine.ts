// `createEngine` of the library: one model loaded once (preloading), then any number of images,
// one at a time or as a batch with progress. A facade over src/inference/: the worker and
// `clearcut remove` run the very same decode → mask → renditions code.
import { loadConfig } from '../config.js';
import type { ImageLimits } from '../images/decode.js';
import { createEngine as openEngine } from '../inference/engine.js';
import { type RemovalResult, removeBackground } from '../inference/remove.js';
import { resolveLocalModel } from '../models/local-model.js';
import { type ResolvedModel, resolveModel } from '../models/registry.js';
import { type ImageInput, readImageInput } from './input.js';
import { checkEngineOptions, type EngineOptions, type RemoveOptions, renditionsOf } from './options.js';

export interface ClearcutEngine {
  readonly model: {
    readonly name: string;
    /** 'synthetic': a stand-in with meaningless masks (only with `allowSynthetic`). */
    readonly source: 'weights' | 'synthetic';
    readonly path: string;
    readonly sha256: string;
  };
  readonly threads: number;
  /** Decodes and checks `input` (PermanentError with a refusal code), then renders every rendition. */
  removeBackground(input: ImageInput, options?: RemoveOptions): Promise<RemovalResult>;
  /**
   * Every input, two in flight (one in the model while the other decodes or encodes). A failed
   * image does not stop the batch: its item carries the error instead of a result.
   */
  removeBackgrounds(inputs: readonly ImageInput[], options?: BatchOptions): Promise<BatchItem[]>;
  /** Releases the model and its thread; repeated calls share one promise. */
  close(): Promise<void>;
}

export interface BatchOptions extends RemoveOptions {
  /** Called after each image, in completion order. */
  readonly onProgress?: (progress: BatchProgress) => void;
}

export interface BatchProgress {
  readonly done: number;
  readonly total: number;
  /** The input just finished, and its error when it failed. */
  readonly input: ImageInput;
  readonly error?: Error;
}

export type BatchItem =
  | { readonly input: ImageInput; readonly result: RemovalResult; readonly error?: undefined }
  | { readonly input: ImageInput; readonly result?: undefined; readonly error: Error };

/** Images in flight in a batch: enough to keep the model busy while the other one is decoded or encoded. */
const batchDepth = 2;

export async function createEngine(options: EngineOptions = {}): Promise<ClearcutEngine> {
  const checked = checkEngineOptions(options);
  // The documented defaults, not the environment: a library reads no CLEARCUT_* variable.
  const defaults = loadConfig({});
  const limits: ImageLimits = { ...defaults.inference, ...checked.limits };
  const threads = checked.threads ?? defaults.inference.threads;
  const model = await modelFor(checked, defaults.models);
  const engine = await openEngine(model, { threads });

  const one = async (input: ImageInput, renditions: ReturnType<typeof renditionsOf>) =>
    removeBackground(engine, await readImageInput(input, limits), renditions, limits);

  return {
    model: { name: model.spec.name, source: model.source, path: model.path, sha256: model.sha256 },
    threads,
    removeBackground: async (input, removeOptions = {}) => one(input, renditionsOf(removeOptions)),
    async removeBackgrounds(inputs, { onProgress, ...removeOptions } = {}) {
      const renditions = renditionsOf(removeOptions);
      const items: BatchItem[] = new Array(inputs.length);
      let next = 0;
      let done = 0;
      const lane = async () => {
        for (let index = next++; index < inputs.length; index = next++) {
          const input = inputs[index]!;
          try {
            items[index] = { input, result: await one(input, renditions) };
          } catch (error) {
            items[index] = { input, error: error instanceof Error ? error : new Error(String(error)) };
          }
          onProgress?.({ done: ++done, total: inputs.length, input, error: items[index]!.error });
        }
      };
      await Promise.all(Array.from({ length: Math.min(batchDepth, inputs.length) }, lane));
      return items;
    },
    close: () => engine.close(),
  };
}

async function modelFor(
  options: EngineOptions,
  defaults: ReturnType<typeof loadConfig>['models'],
): Promise<ResolvedModel> {
  const chosen = options.model ?? defaults.defaultModel;
  if (typeof chosen === 'object') return resolveLocalModel(chosen.file, chosen.family);
  const config = { ...defaults, dir: options.modelDir ?? defaults.dir };
  // Never a silent synthetic stand-in: without weights, model_missing names the pull to run.
  return resolveModel(config, chosen, { allowSynthetic: options.allowSynthetic ?? false });
}
