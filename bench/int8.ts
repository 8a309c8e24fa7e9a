// npm run bench:int8 [-- --models u2net,u2netp,isnet --threads 1,2 --processes 3 --photos N --no-fidelity --sweep]
//
// fp32 against int8 (our static QDQ quantizer, the registry's `-int8` recipes): the model step
// (time inside ONNX Runtime) per image for the synthetic U²-Net and U²-Netp and the real IS-Net
// weights, at each thread count, both engines alternating in one process, in several processes one
// after another. Then, on the real IS-Net weights, how far int8 masks move from fp32 ones (IoU at
// 0.5, mean absolute alpha difference) on the fixture photos and on ground-truth composites, and
// both against the truth. --sweep also scores other recipes from one calibration (how the default
// was chosen). Prints Markdown tables; writes bench/results/int8-*.json.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { QuantizeRecipe } from '../src/quantize/quantize.js';
import {
  describeRecipe,
  fidelityRows,
  loadSamples,
  masksOf,
  summarize,
  sweepRecipes,
} from './int8/fidelity.js';
import { type ModelPair, type PairName, pairNames, preparePair } from './int8/models.js';
import { measureInChild, type SpeedSample } from './int8/speed.js';
import { buildTruthSet } from './quality/composites.js';
import type { MaskAgreement } from './quality/metrics.js';
import { generatePhotos, photosIn, sharedPhotoDir } from './support/photos.js';
import { markdownTable, median, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: pairNames.join(',') },
    threads: { type: 'string', default: '1,2' },
    processes: { type: 'string', default: '3' },
    photos: { type: 'string' },
    'no-fidelity': { type: 'boolean', default: false },
    sweep: { type: 'boolean', default: false },
  },
});

const log = (line: string) => console.error(line);
const names = values.models.split(',').map((name) => {
  if (!pairNames.includes(name as PairName))
    throw new Error(`--models: "${name}" is not one of ${pairNames.join(', ')}`);
  return name as PairName;
});
const threads = values.threads.split(',').map(Number);
const processes = Number(values.processes);

const fixturePhotos = await photosIn(sharedPhotoDir);
const allPhotos = fixturePhotos.length > 0 ? fixturePhotos : await generatePhotos(4);
const photos = values.photos === undefined ? allPhotos : allPhotos.slice(0, Number(values.photos));
log(
  `Photos: ${fixturePhotos.length > 0 ? '../shared/fixtures/photos' : 'generated 2000×2000'} (${photos.length})`,
);

const pairs: ModelPair[] = [];
for (const name of names) {
  try {
    pairs.push(await preparePair(name, log));
  } catch (error) {
    log(`skipping ${name}: ${(error as Error).message}`);
  }
}

// Speed: processes one after another, each measuring every pair and thread count.
const samples: SpeedSample[] = [];
for (let run = 1; run <= processes; run++) {
  log(`speed: process ${run} of ${processes}...`);
  const measured = await measureInChild({ pairs, threads, photos });
  samples.push(...measured.map((sample) => ({ ...sample, process: run })));
}
const fixed = (value: number, digits = 0) => Number(value.toFixed(digits));
const speedRows = await Promise.all(
  pairs.flatMap((pair) =>
    threads.map(async (count) => {
      const mine = samples.filter((sample) => sample.pair === pair.label && sample.threads === count);
      const perProcess = (pick: (sample: SpeedSample) => number) =>
        Array.from({ length: processes }, (_, i) =>
          median(mine.filter((sample) => (sample as { process?: number }).process === i + 1).map(pick)),
        );
      const fp32Ms = median(mine.map((sample) => sample.fp32Ms));
      const int8Ms = median(mine.map((sample) => sample.int8Ms));
      return {
        model: pair.label,
        threads: count,
        fp32Ms,
        int8Ms,
        speedup: fp32Ms / int8Ms,
        // Each image's two runs are back to back, so their ratio shares the machine's load of the
        // moment: steadier than the ratio of medians on a shared machine.
        pairedSpeedup: median(mine.map((sample) => sample.fp32Ms / sample.int8Ms)),
        fp32ProcessMedians: perProcess((sample) => sample.fp32Ms),
        int8ProcessMedians: perProcess((sample) => sample.int8Ms),
        fp32MiB: (await stat(pair.fp32.path)).size / 2 ** 20,
        int8MiB: (await stat(pair.int8.path)).size / 2 ** 20,
      };
    }),
  ),
);
const spread = (list: number[]) => `${fixed(Math.min(...list))}–${fixed(Math.max(...list))}`;
console.log(
  `\n### Model step, median ms per image (${photos.length} images × ${processes} processes, alternating; paired = median of per-image fp32/int8)\n`,
);
console.log(
  markdownTable([
    [
      'model',
      'threads',
      'fp32',
      'int8',
      'speed-up',
      'paired',
      'fp32 per process',
      'int8 per process',
      'MiB fp32 → int8',
    ],
    ...speedRows.map((row) => [
      row.model,
      row.threads,
      fixed(row.fp32Ms),
      fixed(row.int8Ms),
      `${row.speedup.toFixed(2)}×`,
      `${row.pairedSpeedup.toFixed(2)}×`,
      spread(row.fp32ProcessMedians),
      spread(row.int8ProcessMedians),
      `${fixed(row.fp32MiB)} → ${fixed(row.int8MiB)}`,
    ]),
  ]),
);

// Fidelity on the real weights.
const real = pairs.find((pair) => pair.weights === 'real');
let fidelity: Record<string, unknown> | undefined;
if (real && !values['no-fidelity']) {
  log('fidelity: building ground-truth composites and running both models...');
  const samplesForFidelity = await loadSamples(fixturePhotos, await buildTruthSet(sharedPhotoDir));
  const fp32 = await masksOf(real.fp32, samplesForFidelity);
  const int8 = await masksOf(real.int8, samplesForFidelity);
  const rows = fidelityRows(samplesForFidelity, fp32.masks, int8.masks);
  const summary = summarize(rows);
  const cells = (agreement: MaskAgreement | undefined) =>
    agreement ? [fixed(agreement.iou, 4), fixed(agreement.mae, 4)] : ['-', '-'];
  console.log(`\n### ${real.label}: int8 masks against fp32, and both against the truth\n`);
  console.log(
    markdownTable([
      [
        'image',
        'kind',
        'IoU int8 vs fp32',
        'MAE int8 vs fp32',
        'IoU fp32 vs truth',
        'MAE fp32',
        'IoU int8 vs truth',
        'MAE int8',
      ],
      ...rows.map((row) => [
        row.name,
        row.kind,
        ...cells(row.int8VsFp32),
        ...cells(row.fp32VsTruth),
        ...cells(row.int8VsTruth),
      ]),
    ]),
  );
  console.log('\n### Summary (means; textures hold no subject, see bench/int8/fidelity.ts)\n');
  console.log(
    markdownTable([
      ['set', 'mean IoU int8 vs fp32', 'min IoU', 'mean MAE'],
      [
        'photos with a subject',
        fixed(summary.photos.iou, 4),
        fixed(summary.photos.minIou, 4),
        fixed(summary.photos.mae, 4),
      ],
      [
        'composites',
        fixed(summary.composites.iou, 4),
        fixed(summary.composites.minIou, 4),
        fixed(summary.composites.mae, 4),
      ],
      ['textures', fixed(summary.textures.iou, 4), '-', fixed(summary.textures.mae, 4)],
    ]),
  );
  console.log(
    `\nComposites against the truth: fp32 IoU ${summary.fp32VsTruth.iou.toFixed(4)} (MAE ${summary.fp32VsTruth.mae.toFixed(4)}), ` +
      `int8 IoU ${summary.int8VsTruth.iou.toFixed(4)} (MAE ${summary.int8VsTruth.mae.toFixed(4)}).`,
  );
  fidelity = { model: real.label, rows, summary };

  if (values.sweep) {
    const recipes: QuantizeRecipe[] = [
      { method: 'minmax', percentile: 99.99, keepFloat: [] },
      { method: 'minmax', percentile: 99.99, keepFloat: ['sides'] },
      { method: 'entropy', percentile: 99.99, keepFloat: ['sides'] },
      { method: 'percentile', percentile: 99.9, keepFloat: ['sides'] },
      { method: 'percentile', percentile: 99.99, keepFloat: [] },
      { method: 'percentile', percentile: 99.99, keepFloat: ['sides'] },
      { method: 'percentile', percentile: 99.99, keepFloat: ['first', 'sides'] },
      { method: 'percentile', percentile: 99.999, keepFloat: ['sides'] },
    ];
    log('sweep: one calibration, then each recipe...');
    const sweep = await sweepRecipes(real.fp32, recipes, samplesForFidelity, fp32.masks, {
      calibrationImages: 16,
      scratchPath: `${real.int8.path}.sweep.onnx`,
      log,
    });
    console.log(
      `\n### Recipes on ${real.label} (16 generated calibration images; fp32 model step ${fixed(fp32.medianMs)} ms)\n`,
    );
    console.log(
      markdownTable([
        [
          'recipe',
          'photos IoU',
          'photos min IoU',
          'photos MAE',
          'composites IoU',
          'composites min IoU',
          'int8 vs truth IoU',
          'model step ms',
        ],
        ...sweep.map(({ recipe, summary: s, medianMs }) => [
          describeRecipe(recipe),
          fixed(s.photos.iou, 4),
          fixed(s.photos.minIou, 4),
          fixed(s.photos.mae, 4),
          fixed(s.composites.iou, 4),
          fixed(s.composites.minIou, 4),
          fixed(s.int8VsTruth.iou, 4),
          fixed(medianMs),
        ]),
      ]),
    );
    fidelity = { ...fidelity, sweep };
  }
}

const path = await writeResults('int8', {
  photos: photos.map((photo) => photo.name),
  processes,
  threads,
  models: pairs.map(({ label, fp32, int8 }) => ({
    label,
    fp32: fp32.path,
    int8: int8.path,
    int8Sha256: int8.sha256,
  })),
  speed: speedRows,
  samples,
  fidelity,
});
console.log(`\nWrote ${path}`);
