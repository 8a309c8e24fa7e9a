// Fidelity of an int8 model on real weights: its masks against the fp32 model's (IoU at 0.5, mean
// absolute alpha difference) on the fixture photos and on ground-truth composites, and both models
// against the truth. Also the sweep behind the default recipe: one calibration, many recipes.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { loadConfig } from '../../src/config.js';
import { type DecodedImage, decodeImage } from '../../src/images/decode.js';
import { createEngine, type MaskTimings } from '../../src/inference/engine.js';
import type { ResolvedModel } from '../../src/models/registry.js';
import { calibrationInputs, generatedImages } from '../../src/quantize/calibration-images.js';
import { openOrtProbe } from '../../src/quantize/ort-probe.js';
import {
  calibrateModel,
  planModel,
  prepareQuantization,
  type QuantizeRecipe,
  writeQuantized,
} from '../../src/quantize/quantize.js';
import type { TruthImage } from '../quality/composites.js';
import { compareMasks, type MaskAgreement, meanAgreement } from '../quality/metrics.js';
import { median } from '../support/results.js';

export interface Sample {
  readonly name: string;
  readonly kind: 'photo' | 'texture' | 'composite';
  readonly image: DecodedImage;
  /** Ground-truth alpha (composites only). */
  readonly truth?: Uint8Array;
}

export interface FidelityRow {
  readonly name: string;
  readonly kind: Sample['kind'];
  readonly int8VsFp32: MaskAgreement;
  readonly fp32VsTruth?: MaskAgreement;
  readonly int8VsTruth?: MaskAgreement;
}

// The fixture folder's textures (its SOURCES.md: backgrounds for composites) hold no subject: the
// fp32 model finds none (peak probability ~0.1), and rembg's min-max stretch turns its near-zero
// output into a noise mask, so IoU there measures noise, not agreement.
const textures = new Set(['grass.png', 'gravel.png', 'brick.png']);

export async function loadSamples(
  photos: readonly { readonly name: string; readonly bytes: Uint8Array }[],
  composites: readonly TruthImage[],
): Promise<Sample[]> {
  const limits = loadConfig(process.env).inference;
  const decode = (bytes: Uint8Array) => decodeImage(Buffer.from(bytes), limits);
  return [
    ...(await Promise.all(
      photos.map(async ({ name, bytes }) => ({
        name,
        kind: textures.has(name) ? ('texture' as const) : ('photo' as const),
        image: await decode(bytes),
      })),
    )),
    ...(await Promise.all(
      composites.map(async ({ name, bytes, truth }) => ({
        name,
        kind: 'composite' as const,
        image: await decode(bytes),
        truth,
      })),
    )),
  ];
}

/** Masks of `model` for every sample, and the median model-step time. */
export async function masksOf(
  model: ResolvedModel,
  samples: readonly Sample[],
  threads = availableParallelism(),
) {
  const engine = await createEngine(model, { threads });
  const masks: Uint8Array[] = [];
  const times: number[] = [];
  try {
    for (const sample of samples) {
      const timings: MaskTimings = { preprocessMs: 0, inferenceMs: 0, ortMs: 0, postprocessMs: 0 };
      masks.push(await engine.predictMask(sample.image, timings));
      times.push(timings.ortMs);
    }
  } finally {
    await engine.close();
  }
  return { masks, medianMs: median(times) };
}

export function fidelityRows(
  samples: readonly Sample[],
  fp32: readonly Uint8Array[],
  int8: readonly Uint8Array[],
) {
  return samples.map((sample, index): FidelityRow => {
    const row = {
      name: sample.name,
      kind: sample.kind,
      int8VsFp32: compareMasks(int8[index]!, fp32[index]!),
    };
    if (!sample.truth) return row;
    return {
      ...row,
      fp32VsTruth: compareMasks(fp32[index]!, sample.truth),
      int8VsTruth: compareMasks(int8[index]!, sample.truth),
    };
  });
}

export interface FidelitySummary {
  readonly photos: MaskAgreement & { readonly minIou: number };
  readonly composites: MaskAgreement & { readonly minIou: number };
  readonly textures: MaskAgreement;
  readonly fp32VsTruth: MaskAgreement;
  readonly int8VsTruth: MaskAgreement;
}

export function summarize(rows: readonly FidelityRow[]): FidelitySummary {
  const of = (kind: Sample['kind']) => rows.filter((row) => row.kind === kind);
  const agreement = (kind: Sample['kind']) => ({
    ...meanAgreement(of(kind).map((row) => row.int8VsFp32)),
    minIou: Math.min(...of(kind).map((row) => row.int8VsFp32.iou)),
  });
  return {
    photos: agreement('photo'),
    composites: agreement('composite'),
    textures: meanAgreement(of('texture').map((row) => row.int8VsFp32)),
    fp32VsTruth: meanAgreement(of('composite').map((row) => row.fp32VsTruth!)),
    int8VsTruth: meanAgreement(of('composite').map((row) => row.int8VsTruth!)),
  };
}

export interface SweepEntry {
  readonly recipe: QuantizeRecipe;
  readonly summary: FidelitySummary;
  readonly medianMs: number;
}

/**
 * Calibrates `fp32` once on `calibrationImages` generated images, then builds and scores each
 * recipe (its file written to `scratchPath` in turn).
 */
export async function sweepRecipes(
  fp32: ResolvedModel,
  recipes: readonly QuantizeRecipe[],
  samples: readonly Sample[],
  fp32Masks: readonly Uint8Array[],
  options: {
    readonly calibrationImages: number;
    readonly scratchPath: string;
    readonly log: (line: string) => void;
  },
): Promise<SweepEntry[]> {
  const source = await readFile(fp32.path);
  const prepared = prepareQuantization(source, []);
  const inputs = await calibrationInputs(await generatedImages(options.calibrationImages), fp32.spec);
  const statistics = await calibrateModel(prepared, inputs, openOrtProbe, {
    threads: availableParallelism(),
    histograms: true,
    onProgress: (message) => options.log(`  ${message}`),
  });
  const entries: SweepEntry[] = [];
  try {
    for (const recipe of recipes) {
      const { bytes } = writeQuantized(planModel(prepared.model, recipe.keepFloat), statistics, recipe);
      await writeFile(options.scratchPath, bytes);
      const int8 = await masksOf({ ...fp32, path: options.scratchPath, sha256: 'sweep' }, samples);
      entries.push({
        recipe,
        summary: summarize(fidelityRows(samples, fp32Masks, int8.masks)),
        medianMs: int8.medianMs,
      });
      options.log(`  ${describeRecipe(recipe)}: done`);
    }
  } finally {
    await rm(options.scratchPath, { force: true });
  }
  return entries;
}

export function describeRecipe({ method, percentile, keepFloat }: QuantizeRecipe): string {
  const how = method === 'percentile' ? `percentile ${percentile}` : method;
  return `${how}, float: ${keepFloat.length > 0 ? keepFloat.join('+') : 'none'}`;
}
