// What the int8 experiments (sensitivity.ts, bias-correction.ts) compute once per fp32 file and keep
// in bench/results/: the fp32 masks of a list of images, and the calibration statistics of the
// isnet-general-use-int8 recipe's generated images.
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResolvedModel } from '../../src/models/registry.js';
import type { ActivationStatistics } from '../../src/quantize/calibrate.js';
import { calibrationInputs, generatedImages } from '../../src/quantize/calibration-images.js';
import { openOrtProbe } from '../../src/quantize/ort-probe.js';
import { calibrateModel, type PreparedModel } from '../../src/quantize/quantize.js';
import { Histogram } from '../../src/quantize/ranges.js';
import { masksOf, type Sample } from './fidelity.js';

/** fp32 masks of `list`, from bench/results/ when computed before for the same file and images. */
export async function cachedFp32Masks(
  fp32: ResolvedModel,
  name: string,
  list: readonly Sample[],
  log: (line: string) => void,
): Promise<Uint8Array[]> {
  const file = resultsFile(`int8-fp32-masks-${fp32.sha256.slice(0, 12)}-${name}-${list.length}.json`);
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { names: string[]; masks: string[] };
    if (saved.names.join() === list.map((sample) => sample.name).join()) {
      return saved.masks.map((mask) => new Uint8Array(Buffer.from(mask, 'base64')));
    }
  } catch {
    // Not computed yet.
  }
  log(`fp32 masks of ${list.length} ${name} images...`);
  const { masks } = await masksOf(fp32, list);
  const saved = {
    names: list.map((sample) => sample.name),
    masks: masks.map((mask) => Buffer.from(mask).toString('base64')),
  };
  await writeFile(file, JSON.stringify(saved));
  return masks;
}

/** The calibration statistics of the fp32 file, from bench/results/ when this file was calibrated before. */
export async function cachedStatistics(
  fp32: ResolvedModel,
  model: PreparedModel,
  images: number,
  log: (line: string) => void,
): Promise<ActivationStatistics> {
  const file = resultsFile(`int8-statistics-${fp32.sha256.slice(0, 12)}-${images}.json`);
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as SavedStatistics;
    log(`calibration statistics from ${file}`);
    return {
      runs: saved.runs,
      observed: new Map(saved.observed),
      histograms: new Map(
        saved.histograms.map(([tensor, range, counts]) => {
          const histogram = new Histogram(range);
          histogram.counts.set(counts);
          return [tensor, histogram];
        }),
      ),
    };
  } catch {
    log(`calibrating on ${images} generated images (minutes)...`);
  }
  const inputs = await calibrationInputs(await generatedImages(images), fp32.spec);
  const statistics = await calibrateModel(model, inputs, openOrtProbe, {
    threads: availableParallelism(),
    histograms: true,
    // One histogram run per image (~1.5 GB of activations at 1024²) instead of four: on a loaded
    // two-core machine the runs, not the memory, are what is short.
    maxValuesPerRun: 512 * 1024 * 1024,
    onProgress: (message) => log(`  ${message}`),
  });
  const saved: SavedStatistics = {
    runs: statistics.runs,
    observed: [...statistics.observed],
    histograms: [...statistics.histograms].map(([tensor, h]) => [tensor, h.range, [...h.counts]]),
  };
  await writeFile(file, JSON.stringify(saved));
  return statistics;
}

function resultsFile(name: string): string {
  return fileURLToPath(new URL(`../results/${name}`, import.meta.url));
}

interface SavedStatistics {
  readonly runs: number;
  readonly observed: [string, { min: number; max: number }][];
  readonly histograms: [string, { min: number; max: number }, number[]][];
}
