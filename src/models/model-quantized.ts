// int8 model files derived from an fp32 file: written atomically next to it (`u2net.onnx` →
// `u2net-int8.onnx`), with a manifest that records what they were made from. A variant is rebuilt
// when its fp32 source changes (another sha256), when the quantizer changes, or when the int8 file
// no longer matches the checksum recorded after it was written.
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { DecodedImage } from '../images/decode.js';
import {
  calibrationInputs,
  generatedImages,
  type ModelInputProfile,
} from '../quantize/calibration-images.js';
import { openOrtProbe, optimizedOpCounts } from '../quantize/ort-probe.js';
import {
  type QuantizeRecipe,
  type QuantizeReport,
  quantizeModel,
  quantizerVersion,
} from '../quantize/quantize.js';
import { type FileDigest, fileDigest } from './model-digest.js';
import { writeFileAtomically } from './model-file-writer.js';
import type { QuantizedSpec } from './model-variants.js';
import type { ResolvedModel } from './resolved-model.js';
import { readSidecarJson, sidecarJsonPath, writeSidecarJson } from './sidecar-json.js';

export interface QuantizedManifest {
  readonly quantizer: number;
  readonly base: { readonly name: string; readonly path: string; readonly sha256: string };
  readonly recipe: QuantizeRecipe;
  /** Which images calibrated it, in words ("16 generated catalog-like images (seed 1)"). */
  readonly calibration: string;
  /** Built by `models quantize` with another recipe than the variant's: resolveModel keeps it. */
  readonly custom: boolean;
  /** Of the int8 file, recorded once it was written. */
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly report: QuantizeReport;
  /** Nodes per op type in the graph ONNX Runtime optimises it into (QLinearConv, ...). */
  readonly kernels: Readonly<Record<string, number>>;
}

export interface Calibration {
  readonly images: readonly DecodedImage[];
  readonly description: string;
}

export interface QuantizeFileRequest {
  readonly source: { readonly name: string; readonly path: string; readonly sha256: string };
  readonly out: string;
  readonly profile: ModelInputProfile;
  readonly recipe: QuantizeRecipe;
  readonly calibration: Calibration;
  /** See QuantizedManifest.custom. */
  readonly custom?: boolean;
  readonly threads?: number;
  readonly onProgress?: (message: string) => void;
}

/** `<dir>/<stem>-int8.onnx` beside the fp32 file. */
export function quantizedPathFor(fp32Path: string): string {
  return join(dirname(fp32Path), `${basename(fp32Path, '.onnx')}-int8.onnx`);
}

/** `.u2net-int8.onnx.quantized.json`: hidden, so never mistaken for a model. */
export function manifestPath(path: string): string {
  return sidecarJsonPath(path, 'quantized');
}

/** Absent or unreadable: the file counts as not built. */
export function readManifest(path: string): Promise<QuantizedManifest | undefined> {
  return readSidecarJson(
    path,
    'quantized',
    z.custom<QuantizedManifest>((value) => typeof value === 'object'),
  );
}

/**
 * The digest of the int8 file at `path` when it was made by this quantizer from the fp32 file with
 * `baseSha256` (and with `recipe`, when given) and is still the file that was written; else undefined.
 */
export async function currentQuantized(
  path: string,
  baseSha256: string,
  recipe?: QuantizeRecipe,
): Promise<FileDigest | undefined> {
  const manifest = await readManifest(path);
  if (!manifest || manifest.quantizer !== quantizerVersion || manifest.base.sha256 !== baseSha256)
    return undefined;
  if (recipe && !sameRecipe(manifest.recipe, recipe)) return undefined;
  const digest = await fileDigest(path);
  return digest?.sha256 === manifest.sha256 ? digest : undefined;
}

export function sameRecipe(a: QuantizeRecipe, b: QuantizeRecipe): boolean {
  return (
    a.method === b.method &&
    (a.method !== 'percentile' || a.percentile === b.percentile) &&
    a.keepFloat.join(',') === b.keepFloat.join(',')
  );
}

/** Quantizes `source` into `out` (temp + rename), then records the manifest beside it. */
export async function quantizeToFile(request: QuantizeFileRequest): Promise<QuantizedManifest> {
  const { source, out, profile, recipe, calibration } = request;
  const inputs = await calibrationInputs(calibration.images, profile);
  const threads = request.threads ?? availableParallelism();
  const { bytes, report } = await quantizeModel(await readFile(source.path), inputs, openOrtProbe, {
    ...recipe,
    threads,
    metadata: {
      'clearcut.quantized.base': source.name,
      'clearcut.quantized.base_sha256': source.sha256,
      'clearcut.quantized.calibration': calibration.description,
    },
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
  });
  const digest = await writeFileAtomically(out, async (sink) => sink(bytes));
  request.onProgress?.('checking what ONNX Runtime fuses it into');
  const kernels = await optimizedOpCounts(out, threads);
  const manifest: QuantizedManifest = {
    quantizer: quantizerVersion,
    base: source,
    recipe: {
      method: recipe.method,
      percentile: recipe.percentile,
      keepFloat: [...recipe.keepFloat],
    },
    calibration: calibration.description,
    custom: request.custom ?? false,
    sha256: digest.sha256,
    size: digest.size,
    createdAt: new Date().toISOString(),
    report,
    kernels,
  };
  await writeSidecarJson(out, 'quantized', manifest);
  return manifest;
}

export async function generatedCalibration(count: number): Promise<Calibration> {
  return {
    images: await generatedImages(count),
    description: `${count} generated catalog-like images (seed 1)`,
  };
}

export interface EnsureOptions {
  readonly threads?: number;
  readonly onProgress?: (message: string) => void;
  /** Overrides the recipe's number of generated calibration images. */
  readonly calibrationImages?: number;
}

/**
 * The int8 file of `variant` made from `base` when it is there and up to date, else undefined. A file
 * built with the variant's recipe is out of date once that recipe changes; one built on purpose with
 * another recipe (`models quantize NAME --method ...`) is kept.
 */
export async function builtQuantizedModel(
  base: ResolvedModel,
  variant: QuantizedSpec,
): Promise<{ path: string; sha256: string } | undefined> {
  const path = quantizedPathFor(base.path);
  const previous = await readManifest(path);
  const current = await currentQuantized(path, base.sha256, previous?.custom ? undefined : variant.recipe);
  return current ? { path, sha256: current.sha256 } : undefined;
}

/**
 * The int8 file of `variant` made from `base`, built with the variant's recipe when absent or out of
 * date (see currentQuantized and QuantizedManifest.custom). Callers in one process share one build;
 * separate processes each build and rename whole files.
 */
export function ensureQuantizedModel(
  base: ResolvedModel,
  variant: QuantizedSpec,
  options: EnsureOptions = {},
): Promise<{ path: string; sha256: string }> {
  const path = quantizedPathFor(base.path);
  let pending = inFlight.get(path);
  if (!pending) {
    pending = (async () => {
      const current = await builtQuantizedModel(base, variant);
      if (current) return current;
      options.onProgress?.(
        `building ${variant.name} from ${base.path} (sha256 ${base.sha256.slice(0, 12)}…)`,
      );
      const built = await quantizeToFile({
        source: { name: base.spec.name, path: base.path, sha256: base.sha256 },
        out: path,
        profile: variant,
        recipe: variant.recipe,
        calibration: await generatedCalibration(
          options.calibrationImages ?? variant.recipe.calibrationImages,
        ),
        ...(options.threads ? { threads: options.threads } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      return { path, sha256: built.sha256 };
    })().finally(() => inFlight.delete(path));
    inFlight.set(path, pending);
  }
  return pending;
}

const inFlight = new Map<string, Promise<{ path: string; sha256: string }>>();
