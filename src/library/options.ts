// The library's options, checked once with the same schemas as jobs (renditions) so a caller gets
// the message a producer would, and typed errors instead of a crash deep inside sharp or ORT.
import { z } from 'zod';
import { backgroundImageLocation } from '../contracts/backgrounds.js';
import { describeIssues } from '../contracts/issues.js';
import { type Rendition, type RenditionInput, renditionListSchema } from '../contracts/renditions.js';
import { PermanentError } from '../errors.js';
import { modelCatalog } from '../models/catalog.js';
import { listModels } from '../models/registry.js';

export interface EngineOptions {
  /**
   * A model name from the catalog (`u2net`, `u2netp`, `isnet-general-use`, `u2net-int8`, ...), or an
   * ONNX file of your own run with a catalog model's pre- and post-processing. Default `u2net`.
   */
  readonly model?: string | { readonly file: string; readonly family: string };
  /** Where `clearcut models pull` put the weights (CLEARCUT_MODEL_DIR). Default `models/weights`. */
  readonly modelDir?: string;
  /**
   * Without real weights, run a synthetic stand-in of the model (the real network with random
   * weights: meaningless masks, for trying the pipeline). Default false: refused with `model_missing`.
   */
  readonly allowSynthetic?: boolean;
  /** ONNX Runtime intra-op threads. Default: the number of cores. */
  readonly threads?: number;
  /** Input limits, as CLEARCUT_MAX_INPUT_BYTES, CLEARCUT_MAX_INPUT_PIXELS, CLEARCUT_DECODE_TIMEOUT. */
  readonly limits?: {
    readonly maxInputBytes?: number;
    readonly maxInputPixels?: number;
    readonly decodeTimeoutMs?: number;
  };
}

export interface RemoveOptions {
  /** What to make from the one inference, as a job's `renditions` (docs/inference.md). Default: a PNG cutout. */
  readonly renditions?: readonly RenditionInput[];
}

const positive = z.number().int().positive();

const engineOptionsSchema = z.strictObject({
  model: z
    .union([
      z.string(),
      z.strictObject({
        file: z.string().min(1),
        family: z.enum(listModels().map((spec) => spec.name) as [string, ...string[]]),
      }),
    ])
    .optional(),
  modelDir: z.string().min(1).optional(),
  allowSynthetic: z.boolean().optional(),
  threads: z.number().int().min(1).max(256).optional(),
  limits: z
    .strictObject({
      maxInputBytes: positive.optional(),
      maxInputPixels: positive.optional(),
      decodeTimeoutMs: positive.optional(),
    })
    .optional(),
});

const removeOptionsSchema = z.strictObject({ renditions: renditionListSchema });

/** The engine options as given, after checking them: PermanentError `invalid_options` otherwise. */
export function checkEngineOptions(options: EngineOptions): EngineOptions {
  const checked = parse(engineOptionsSchema, options, 'engine options') as EngineOptions;
  // The pipeline's own code for a model it does not have, with the catalog's message.
  if (typeof checked.model === 'string' && !catalog.has(checked.model))
    throw new PermanentError('unknown_model', catalog.unknownModelMessage(checked.model));
  return checked;
}

/** Every model ClearCut knows (a library serves them all, as local commands do). */
const catalog = modelCatalog({ defaultModel: 'u2net' });

/** The renditions asked for, with every default filled in: PermanentError `invalid_options` otherwise. */
export function renditionsOf(options: RemoveOptions): Rendition[] {
  const { renditions } = parse(removeOptionsSchema, options, 'options');
  const fetched = renditions.findIndex(
    (rendition) => rendition.kind === 'background' && backgroundImageLocation(rendition.background),
  );
  if (fetched >= 0) {
    throw new PermanentError(
      'invalid_options',
      `Invalid options: renditions[${fetched}].background: an s3:// image background is fetched by the pipeline's workers; here give a colour (#RRGGBB, #RGB, #RRGGBBAA or #RGBA) or "transparent".`,
    );
  }
  return renditions;
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  throw new PermanentError(
    'invalid_options',
    `Invalid ${what}: ${describeIssues(parsed.error.issues).join('; ')}`,
  );
}
