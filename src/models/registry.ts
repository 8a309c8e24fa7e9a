// Model registry: which models exist (data in models/registry.ts) and where a usable file for one is.
import { resolve } from 'node:path';
import type { ModelSpec } from '../../models/model-spec.js';
import { registry } from '../../models/registry.js';
import type { Config } from '../config.js';
import { PermanentError } from '../errors.js';
import { readCustomRecord } from './custom-record.js';
import { fileDigest } from './model-digest.js';
import { ensureSyntheticModel } from './model-synthetic.js';
import { findVariant, variantBuildHint } from './model-variants.js';
import type { ResolvedModel } from './resolved-model.js';

export type { ResolvedModel } from './resolved-model.js';

export type ModelsConfig = Config['models'];

/** The published models (what `models pull` fetches); catalog.ts lists every selectable name. */
export function listModels(): readonly ModelSpec[] {
  return registry;
}

/** The registry entry for `name`; PermanentError `unknown_model` naming the valid ones otherwise. */
export function findModel(name: string): ModelSpec {
  const spec = registry.find((candidate) => candidate.name === name);
  if (spec) return spec;
  const names = registry.map((candidate) => candidate.name).join(', ');
  throw new PermanentError('unknown_model', `Unknown model "${name}". Known models: ${names}.`);
}

/** Where `models pull` fetches a model from: the registry URL, or the file under a configured mirror. */
export function modelUrl(config: ModelsConfig, spec: ModelSpec): string {
  return config.baseUrl ? new URL(spec.file, config.baseUrl).href : spec.url;
}

export function weightsPath(config: ModelsConfig, spec: ModelSpec): string {
  return resolve(config.dir, spec.file);
}

export interface ResolveOptions {
  /** ONNX Runtime threads for calibrating an int8 variant that must be (re)built; default: all cores. */
  readonly threads?: number;
  /** Progress of such a build, which takes from seconds (U²-Netp) to minutes (IS-Net). */
  readonly onProgress?: (message: string) => void;
  /** Generated calibration images for such a build, instead of the variant's recipe's count. */
  readonly calibrationImages?: number;
  /**
   * Whether a model without weights may resolve to its synthetic stand-in (meaningless masks).
   * Default true, for benchmarks and tools; a worker and `clearcut remove` refuse unless told.
   */
  readonly allowSynthetic?: boolean;
  /**
   * Whether an int8 variant that is absent or out of date is built now (default true). A worker
   * says false: quantizing takes seconds to minutes of CPU and belongs to `clearcut models quantize`.
   */
  readonly buildVariant?: boolean;
}

/**
 * The file to load for `name`: verified real weights, else the synthetic stand-in (built once into
 * `<model dir>/synthetic/`) unless `allowSynthetic` is false, else PermanentError `model_missing`. A weights file that is present but
 * fails its checksum is an error, not a reason to fall back: masks would silently become meaningless.
 * An int8 variant (`u2net-int8`) resolves its base that way, then quantizes it next to it unless an
 * int8 file made from exactly that base is already there (see model-quantized.ts).
 */
export async function resolveModel(
  config: ModelsConfig,
  name: string,
  options: ResolveOptions = {},
): Promise<ResolvedModel> {
  const variant = findVariant(name);
  if (variant) {
    const base = await resolveModel(config, variant.base, options).catch((error: unknown) => {
      // The base's message names the base (`models pull isnet-general-use`); say how the variant follows.
      if (error instanceof PermanentError && error.code === 'model_missing')
        throw new PermanentError(error.code, `${error.message} ${variantBuildHint(variant)}`, {
          cause: error,
        });
      throw error;
    });
    // Loaded here, not at the top: it brings ONNX Runtime and sharp, which the gateway (a user of
    // this module's names) has no use for.
    const { builtQuantizedModel, ensureQuantizedModel } = await import('./model-quantized.js');
    const built =
      options.buildVariant === false
        ? await builtQuantizedModel(base, variant)
        : await ensureQuantizedModel(base, variant, options);
    if (!built)
      throw new PermanentError(
        'model_missing',
        `Model ${variant.name} has not been built from ${base.path} (or is out of date). ` +
          `Build it with \`clearcut models quantize ${variant.base}\`.`,
      );
    return { spec: variant, path: built.path, sha256: built.sha256, source: base.source };
  }
  const spec = findModel(name);
  const path = weightsPath(config, spec);
  const digest = await fileDigest(path);
  if (digest) {
    if (digest.sha256 === spec.sha256) return { spec, path, sha256: digest.sha256, source: 'weights' };
    // Installed on purpose by `models import --custom`: that exact file, and no other.
    if ((await readCustomRecord(path))?.sha256 === digest.sha256)
      return { spec, path, sha256: digest.sha256, source: 'weights' };
    throw new PermanentError(
      'model_checksum_mismatch',
      `${path} is not the published ${spec.name} model (sha256 ${digest.sha256}, expected ${spec.sha256}). ` +
        `Replace it with \`clearcut models pull ${spec.name} --force\`.`,
    );
  }
  if (spec.synthetic && options.allowSynthetic === false) {
    throw new PermanentError(
      'model_missing',
      `Model ${spec.name} has no weights in ${resolve(config.dir)}; only its synthetic stand-in could serve, ` +
        `whose masks are meaningless. Run \`clearcut models pull ${spec.name}\`, or \`clearcut models import FILE\` ` +
        `with a copy of ${spec.file} on a machine without internet.`,
    );
  }
  if (spec.synthetic) {
    const built = await ensureSyntheticModel(syntheticDir(config), spec.synthetic);
    return { spec, path: built.path, sha256: built.sha256, source: 'synthetic' };
  }
  throw new PermanentError(
    'model_missing',
    `Model ${spec.name} is not in ${resolve(config.dir)} and has no synthetic stand-in. ` +
      `Run \`clearcut models pull ${spec.name}\` (or copy ${spec.file} there by hand from ${spec.url}).`,
  );
}

export function syntheticDir(config: ModelsConfig): string {
  return resolve(config.dir, 'synthetic');
}
