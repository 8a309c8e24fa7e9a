// npx tsx bench/int8/sensitivity.ts [--rank-images 3 | --rank-on logo.png,rocket.jpg] [--max-kept 6
//   --first-kept 0 --speed-photos 3 --no-speed --fp32-only]
//
// Sensitivity-guided mixed precision on the real IS-Net weights. One calibration (the
// isnet-general-use-int8 recipe's 16 generated images; cached in bench/results/ by the fp32 file's
// sha256), then:
// 1. each layer group (an RSU stage, see quantize/sensitivity.ts) quantized ALONE (the rest float,
//    besides the recipe's own float layers and the glue between stages) against fp32, on a few
//    calibration images: the ranking;
// 2. the recipe with the most sensitive groups kept in float, one more at a time, scored against
//    fp32 on the fixture photos with a subject and the ground-truth composites, until mean IoU ≥ 0.98
//    and worst ≥ 0.95 on both sets;
// 3. each step's model step against fp32 in ONE child process (paired per image: they share the load).
// Prints the ranking and the Pareto table; writes bench/results/int8-sensitivity-*.json.
// The fp32 masks are cached in bench/results/ too: `--fp32-only` computes just them, so a second
// process can do that while the first one calibrates.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveLocalModel } from '../../src/models/local-model.js';
import { findVariant } from '../../src/models/model-variants.js';
import type { ResolvedModel } from '../../src/models/registry.js';
import { generatedImages } from '../../src/quantize/calibration-images.js';
import { selectKeepFloat } from '../../src/quantize/plan.js';
import {
  planModel,
  prepareQuantization,
  type QuantizeRecipe,
  writeQuantized,
} from '../../src/quantize/quantize.js';
import {
  greedyKeepFloat,
  layerGroups,
  type MaskDamage,
  type Probe,
  rankBySensitivity,
} from '../../src/quantize/sensitivity.js';
import { ensurePeerIsnetModel, peerIsnetFamily } from '../peer-support/isnet-model.js';
import { buildTruthSet } from '../quality/composites.js';
import { compareMasks, meanAgreement } from '../quality/metrics.js';
import { photosIn, sharedPhotoDir } from '../support/photos.js';
import { markdownTable, median, writeResults } from '../support/results.js';
import { cachedFp32Masks, cachedStatistics } from './cache.js';
import {
  type FidelitySummary,
  fidelityRows,
  loadSamples,
  masksOf,
  type Sample,
  summarize,
} from './fidelity.js';
import { measureInChild } from './speed.js';

const { values } = parseArgs({
  options: {
    'rank-images': { type: 'string', default: '3' },
    'max-kept': { type: 'string', default: '6' },
    'speed-photos': { type: 'string', default: '3' },
    'no-speed': { type: 'boolean', default: false },
    'fp32-only': { type: 'boolean', default: false },
    'rank-on': { type: 'string' },
    'first-kept': { type: 'string', default: '0' },
  },
});
const log = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
const load = () => loadavg()[0]!.toFixed(1);
const goal = { meanIou: 0.98, minIou: 0.95 };

const source = await ensurePeerIsnetModel('medium-fp32', { log });
const fp32 = await resolveLocalModel(source.path, peerIsnetFamily);
const variant = findVariant(`${peerIsnetFamily}-int8`)!;
const base: QuantizeRecipe = variant.recipe;
const scratchDir = await mkdtemp(join(tmpdir(), 'clearcut-int8-sensitivity-'));

/** Writes the model of `recipe` to `file` and returns it as a resolved model. */
const build = async (keepFloat: readonly string[], file: string): Promise<ResolvedModel> => {
  const recipe = { ...base, keepFloat: [...base.keepFloat, ...keepFloat] };
  const { bytes } = writeQuantized(planModel(prepared.model, recipe.keepFloat), statistics, recipe);
  const path = join(scratchDir, file);
  await writeFile(path, bytes);
  return { ...fp32, path, sha256: file };
};

const fixtures = (await photosIn(sharedPhotoDir)).filter(
  (photo) => !/^(grass|gravel|brick)\./.test(photo.name),
);
const samples = await loadSamples(fixtures, await buildTruthSet(sharedPhotoDir));
// 1. Ranking: each group quantized alone, on the first calibration images, or (--rank-on
// logo.png,rocket.jpg) on named fixture images: the generated images are easy, every group alone
// keeps IoU 0.9995 on them, so they barely rank anything.
const rankOn = values['rank-on']?.split(',');
const rankSamples: Sample[] = rankOn
  ? samples.filter((sample) => rankOn.includes(sample.name))
  : (await generatedImages(Number(values['rank-images']))).map((image, i) => ({
      name: `calibration-${i + 1}`,
      kind: 'photo',
      image,
    }));
if (rankOn && rankSamples.length !== rankOn.length)
  throw new Error(`--rank-on: not all of ${rankOn} are fixtures`);
const fixtureFp32 = rankOn ? await cachedFp32Masks(fp32, 'fixtures', samples, log) : [];
const rankFp32 = rankOn
  ? rankSamples.map((sample) => fixtureFp32[samples.indexOf(sample)]!)
  : await cachedFp32Masks(fp32, 'rank', rankSamples, log);
if (values['fp32-only']) {
  await cachedFp32Masks(fp32, 'fixtures', samples, log);
  process.exit(0);
}
const prepared = prepareQuantization(await readFile(source.path), []);
const statistics = await cachedStatistics(fp32, prepared, variant.recipe.calibrationImages, log);
const groups = layerGroups(prepared.index, selectKeepFloat(prepared.index, base.keepFloat));
const selectors = groups.map((group) => group.selector);
const rankSet = rankOn ? rankOn.join(', ') : `${rankSamples.length} calibration images`;
log(`ranking ${groups.length} groups on ${rankSet} (load ${load()})`);
const damageOn = (masks: readonly Uint8Array[]): MaskDamage => {
  const agreements = masks.map((mask, i) => compareMasks(mask, rankFp32[i]!));
  const mean = meanAgreement(agreements);
  return { meanIou: mean.iou, minIou: Math.min(...agreements.map((a) => a.iou)), mae: mean.mae };
};
const probes: Probe[] = [];
for (const selector of [...selectors, 'glue']) {
  // 'glue': every group float, only the pools, concats and upsampling between them quantized.
  const others = selectors.filter((other) => other !== selector);
  const model = await build(others, 'probe.onnx');
  probes.push({ selector, ...damageOn((await masksOf(model, rankSamples)).masks) });
  log(`  ${selector} alone: IoU ${probes.at(-1)!.meanIou.toFixed(4)} (load ${load()})`);
}
const ranking = rankBySensitivity(probes.filter((probe) => probe.selector !== 'glue'));
console.log(`\n### Each group quantized alone vs fp32 (${rankSet})\n`);
console.log(
  markdownTable([
    ['group', 'convs', 'mean IoU', 'min IoU', 'MAE'],
    ...[...ranking, probes.at(-1)!].map((probe) => [
      probe.selector,
      groups.find((group) => group.selector === probe.selector)?.convs ?? 0,
      Number(probe.meanIou.toFixed(4)),
      Number(probe.minIou.toFixed(4)),
      Number(probe.mae.toFixed(5)),
    ]),
  ]),
);

// 2. Greedy: keep the most sensitive groups in float until the mask holds on photos and composites.
const fp32Masks = await cachedFp32Masks(fp32, 'fixtures', samples, log);
log(`scoring on ${samples.length} images (load ${load()})`);
interface StepResult extends MaskDamage {
  readonly summary: FidelitySummary;
  readonly model: ResolvedModel;
}
const steps = await greedyKeepFloat<StepResult>(
  ranking.map((probe) => probe.selector),
  async (keptFloat) => {
    const model = await build(keptFloat, `step-${keptFloat.length}.onnx`);
    const summary = summarize(fidelityRows(samples, fp32Masks, (await masksOf(model, samples)).masks));
    log(
      `  float ${keptFloat.length}: photos ${summary.photos.iou.toFixed(4)} (min ${summary.photos.minIou.toFixed(4)}), ` +
        `composites ${summary.composites.iou.toFixed(4)} (min ${summary.composites.minIou.toFixed(4)}) (load ${load()})`,
    );
    return {
      meanIou: Math.min(summary.photos.iou, summary.composites.iou),
      minIou: Math.min(summary.photos.minIou, summary.composites.minIou),
      mae: Math.max(summary.photos.mae, summary.composites.mae),
      summary,
      model,
    };
  },
  goal,
  Number(values['max-kept']),
  Number(values['first-kept']),
);

// 3. Speed of every step against fp32, in one process, image by image.
const speedPhotos = fixtures.slice(0, Number(values['speed-photos']));
const loadBefore = load();
const speed = values['no-speed']
  ? []
  : await measureInChild({
      pairs: steps.map((step) => ({
        label: `float ${step.keptFloat.length}`,
        weights: 'real' as const,
        fp32,
        int8: step.result.model,
      })),
      threads: [availableParallelism()],
      photos: speedPhotos,
    });
const ratioOf = (label: string) => {
  const mine = speed.filter((sample) => sample.pair === label);
  return mine.length === 0 ? '-' : `${median(mine.map((s) => s.fp32Ms / s.int8Ms)).toFixed(2)}×`;
};
console.log(
  `\n### Pareto: groups kept in float (besides ${base.keepFloat.join('+')}) → fidelity vs fp32 → speed ` +
    `(paired fp32/int8 model step, ${speedPhotos.length} photos, ${availableParallelism()} threads, load ${loadBefore} → ${load()})\n`,
);
console.log(
  markdownTable([
    [
      'kept in float',
      'photos IoU',
      'photos min',
      'composites IoU',
      'composites min',
      'vs truth IoU',
      'speed-up',
    ],
    ...steps.map(({ keptFloat, result: { summary: s } }) => [
      keptFloat.length === 0 ? '(recipe only)' : `+ ${keptFloat.join(' ')}`,
      Number(s.photos.iou.toFixed(4)),
      Number(s.photos.minIou.toFixed(4)),
      Number(s.composites.iou.toFixed(4)),
      Number(s.composites.minIou.toFixed(4)),
      Number(s.int8VsTruth.iou.toFixed(4)),
      ratioOf(`float ${keptFloat.length}`),
    ]),
  ]),
);
const path = await writeResults('int8-sensitivity', {
  base,
  probes,
  ranking: ranking.map((probe) => probe.selector),
  steps: steps.map(({ keptFloat, result }) => ({ keptFloat, summary: result.summary })),
  speed,
  load: { before: loadBefore, after: load() },
});
await rm(scratchDir, { recursive: true, force: true });
console.log(`\nWrote ${path}`);
