// npx tsx bench/int8/bias-correction.ts [--images 16 --rounds 2 | --bias-on logo.png,rocket.jpg]
//
// Empirical bias correction (quantize/bias-correction.ts) on the real IS-Net weights with the
// isnet-general-use-int8 recipe: one calibration (cached in bench/results/, as sensitivity.ts), then
// the recipe's model scored against fp32 on the fixture photos with a subject and the ground-truth
// composites, before and after each round of correction. A round measures every quantized conv's
// mean output shift on the generated calibration images (never on the evaluation images) with the
// corrections so far applied, and adds it. The graph is unchanged, so is its speed. `--bias-on`
// measures the shifts on named evaluation images instead: in-sample, a diagnostic only (does the
// method help where its statistics are right?), never a recipe.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveLocalModel } from '../../src/models/local-model.js';
import { findVariant } from '../../src/models/model-variants.js';
import { addShifts, type BiasShifts, measureBiasShifts } from '../../src/quantize/bias-correction.js';
import { calibrationInputs, generatedImages } from '../../src/quantize/calibration-images.js';
import { decodeModel } from '../../src/quantize/onnx-model.js';
import { openOrtProbe } from '../../src/quantize/ort-probe.js';
import { planModel, prepareQuantization, writeQuantized } from '../../src/quantize/quantize.js';
import { ensurePeerIsnetModel, peerIsnetFamily } from '../peer-support/isnet-model.js';
import { buildTruthSet } from '../quality/composites.js';
import { photosIn, sharedPhotoDir } from '../support/photos.js';
import { markdownTable, writeResults } from '../support/results.js';
import { cachedFp32Masks, cachedStatistics } from './cache.js';
import { type FidelityRow, fidelityRows, loadSamples, masksOf, summarize } from './fidelity.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    'bias-on': { type: 'string' },
  },
});
const log = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
const load = () => loadavg()[0]!.toFixed(1);

const source = await ensurePeerIsnetModel('medium-fp32', { log });
const fp32 = await resolveLocalModel(source.path, peerIsnetFamily);
const variant = findVariant(`${peerIsnetFamily}-int8`)!;
const recipe = variant.recipe;
const fixtures = (await photosIn(sharedPhotoDir)).filter(
  (photo) => !/^(grass|gravel|brick)\./.test(photo.name),
);
const samples = await loadSamples(fixtures, await buildTruthSet(sharedPhotoDir));
const prepared = prepareQuantization(await readFile(source.path), []);
const statistics = await cachedStatistics(fp32, prepared, recipe.calibrationImages, log);
const fp32Masks = await cachedFp32Masks(fp32, 'fixtures', samples, log);
const planned = planModel(prepared.model, recipe.keepFloat);
const convs = planned.index.nodes.filter(
  (node) => node.opType === 'Conv' && planned.plan.quantized.has(node),
);
const biasOn = values['bias-on']?.split(',');
const biasImages = biasOn
  ? samples.filter((sample) => biasOn.includes(sample.name)).map((sample) => sample.image)
  : await generatedImages(Number(values.images));
if (biasOn && biasImages.length !== biasOn.length)
  throw new Error(`--bias-on: not all of ${biasOn} are fixtures`);
const inputs = await calibrationInputs(biasImages, fp32.spec);
const scratch = join(tmpdir(), `clearcut-bias-correction-${process.pid}.onnx`);
const loadBefore = load();

const rounds: { round: number; rows: FidelityRow[] }[] = [];
let shifts: BiasShifts = new Map();
try {
  for (let round = 0; ; round++) {
    const { bytes } = writeQuantized(planned, statistics, recipe, shifts);
    await writeFile(scratch, bytes);
    const masks = (await masksOf({ ...fp32, path: scratch, sha256: `round-${round}` }, samples)).masks;
    const rows = fidelityRows(samples, fp32Masks, masks);
    rounds.push({ round, rows });
    const s = summarize(rows);
    log(
      `round ${round}: photos ${s.photos.iou.toFixed(4)} (min ${s.photos.minIou.toFixed(4)}), ` +
        `composites ${s.composites.iou.toFixed(4)} (min ${s.composites.minIou.toFixed(4)}) (load ${load()})`,
    );
    if (round === Number(values.rounds)) break;
    const measured = await measureBiasShifts(
      prepared.model,
      decodeModel(bytes),
      convs,
      inputs,
      openOrtProbe,
      {
        threads: availableParallelism(),
        onProgress: (message) => log(`  ${message}`),
      },
    );
    const largest = Math.max(...[...measured.values()].flatMap((shift) => [...shift].map(Math.abs)));
    log(`  ${measured.size} conv biases, largest shift ${largest.toPrecision(3)}`);
    shifts = addShifts(shifts, measured);
  }
} finally {
  await rm(scratch, { force: true });
}

console.log(
  `\n### Bias correction on ${biasOn ? `${biasOn.join(', ')} (in-sample)` : `${inputs.length} generated images`}, ${recipe.keepFloat.join('+')} in float ` +
    `(IoU vs fp32; load ${loadBefore} → ${load()})\n`,
);
console.log(
  markdownTable([
    ['rounds', 'photos IoU', 'photos min', 'photos MAE', 'composites IoU', 'composites min', 'vs truth IoU'],
    ...rounds.map(({ round, rows }) => {
      const s = summarize(rows);
      return [
        round,
        ...[
          s.photos.iou,
          s.photos.minIou,
          s.photos.mae,
          s.composites.iou,
          s.composites.minIou,
          s.int8VsTruth.iou,
        ].map((value) => Number(value.toFixed(4))),
      ];
    }),
  ]),
);
console.log(`\nPer photo, IoU vs fp32 by round:\n`);
console.log(
  markdownTable([
    ['image', ...rounds.map(({ round }) => `round ${round}`)],
    ...samples
      .filter((sample) => sample.kind === 'photo')
      .map((sample) => [
        sample.name,
        ...rounds.map(({ rows }) =>
          Number(rows.find((row) => row.name === sample.name)!.int8VsFp32.iou.toFixed(4)),
        ),
      ]),
  ]),
);
const path = await writeResults('int8-bias-correction', {
  recipe,
  images: biasOn ?? inputs.length,
  rounds: rounds.map(({ round, rows }) => ({ round, summary: summarize(rows), rows })),
  load: { before: loadBefore, after: load() },
});
console.log(`\nWrote ${path}`);
