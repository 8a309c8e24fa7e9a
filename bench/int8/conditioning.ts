// npx tsx bench/int8/conditioning.ts [--only logo.png,rocket.jpg,sneaker-on-brick]
//
// Is the int8 worst case ill-conditioned? The real IS-Net weights' fp32 masks on the fixture photos
// with a subject and the ground-truth composites, against fp32 masks of the same images under
// perturbations smaller than int8's own error: the input re-encoded as JPEG quality 95, ±1 level of
// seeded noise on every input value, the input shifted by one pixel (the image without its first
// column, compared where the two overlap), and the weights rounded to bfloat16 (8-bit mantissa;
// int8 per-channel weights keep 7 bits of the channel's largest value). fp16 weights are no
// perturbation here: the fp32 file is the peer's fp16 file widened. If fp32 moves this much by itself on an image, no quantization can keep that image's
// mask closer than that. Prints one table (IoU per image and perturbation) and writes
// bench/results/int8-conditioning-*.json. `--only` limits it to named images (a pass over all 21
// takes minutes on a loaded machine); the unperturbed fp32 masks are cached as in sensitivity.ts.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig } from '../../src/config.js';
import { type DecodedImage, decodeImage } from '../../src/images/decode.js';
import { resolveLocalModel } from '../../src/models/local-model.js';
import {
  DataType,
  decodeModel,
  encodeModel,
  floatTensor,
  floatValues,
} from '../../src/quantize/onnx-model.js';
import { ensurePeerIsnetModel, peerIsnetFamily } from '../peer-support/isnet-model.js';
import { buildTruthSet } from '../quality/composites.js';
import { compareMasks } from '../quality/metrics.js';
import { photosIn, sharedPhotoDir } from '../support/photos.js';
import { markdownTable, writeResults } from '../support/results.js';
import { cachedFp32Masks } from './cache.js';
import { loadSamples, masksOf, type Sample } from './fidelity.js';

const { values } = parseArgs({ options: { only: { type: 'string' } } });

const log = (line: string) => console.error(`${new Date().toISOString().slice(11, 19)} ${line}`);
const load = () => loadavg()[0]!.toFixed(1);

const source = await ensurePeerIsnetModel('medium-fp32', { log });
const fp32 = await resolveLocalModel(source.path, peerIsnetFamily);
const fixtures = (await photosIn(sharedPhotoDir)).filter(
  (photo) => !/^(grass|gravel|brick)\./.test(photo.name),
);
const all = await loadSamples(fixtures, await buildTruthSet(sharedPhotoDir));
const allMasks = await cachedFp32Masks(fp32, 'fixtures', all, log);
const only = values.only?.split(',');
const chosen = all.flatMap((sample, i) => (!only || only.includes(sample.name) ? [i] : []));
if (only && chosen.length !== only.length) throw new Error(`--only: not all of ${only} are fixtures`);
const samples = chosen.map((i) => all[i]!);
const reference = chosen.map((i) => allMasks[i]!);
const limits = loadConfig(process.env).inference;
const loadBefore = load();

/** Same images, pixels changed by `change`; the masks compared with fp32's as they are. */
const withPixels = async (change: (image: DecodedImage) => Promise<DecodedImage>) =>
  (
    await masksOf(
      fp32,
      await Promise.all(samples.map(async (sample) => ({ ...sample, image: await change(sample.image) }))),
    )
  ).masks.map((mask, i) => compareMasks(mask, reference[i]!).iou);

const rawOf = ({ width, height, channels }: DecodedImage) => ({ raw: { width, height, channels } });

const jpeg95 = async (image: DecodedImage) =>
  decodeImage(await sharp(image.pixels, rawOf(image)).jpeg({ quality: 95 }).toBuffer(), limits);

const noise = async (image: DecodedImage) => {
  let state = 12345;
  const pixels = Buffer.from(image.pixels);
  for (let i = 0; i < pixels.length; i++) {
    if (image.channels === 4 && i % 4 === 3) continue;
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const step = (state >>> 16) % 2 === 0 ? -1 : 1;
    pixels[i] = Math.max(0, Math.min(255, pixels[i]! + step));
  }
  return { ...image, pixels };
};

// The image without its first column: every pixel moves one to the left.
const shifted = async (image: DecodedImage) => {
  const { width, height, channels } = image;
  const pixels = Buffer.alloc((width - 1) * height * channels);
  for (let y = 0; y < height; y++) {
    image.pixels.copy(
      pixels,
      y * (width - 1) * channels,
      (y * width + 1) * channels,
      (y + 1) * width * channels,
    );
  }
  return { ...image, width: width - 1, pixels };
};

/** IoU of the shifted image's mask with fp32's mask where they overlap (columns 1… of the original). */
const shiftIous = async () => {
  const shiftedSamples: Sample[] = await Promise.all(
    samples.map(async (sample) => ({ ...sample, image: await shifted(sample.image) })),
  );
  const masks = (await masksOf(fp32, shiftedSamples)).masks;
  return masks.map((mask, i) => {
    const { width, height } = samples[i]!.image;
    const original = new Uint8Array((width - 1) * height);
    for (let y = 0; y < height; y++) {
      original.set(reference[i]!.subarray(y * width + 1, (y + 1) * width), y * (width - 1));
    }
    return compareMasks(mask, original).iou;
  });
};

/** The fp32 file with every float initializer rounded to bfloat16 (round to nearest even). */
const bfloat16Model = async () => {
  const model = decodeModel(await readFile(source.path));
  const bits = new Uint32Array(1);
  const view = new Float32Array(bits.buffer);
  const initializer = (model.graph?.initializer ?? []).map((tensor) => {
    if (tensor.dataType !== DataType.FLOAT) return tensor;
    const values = floatValues(tensor);
    for (let i = 0; i < values.length; i++) {
      view[0] = values[i]!;
      bits[0] = (bits[0]! + 0x7fff + ((bits[0]! >>> 16) & 1)) & 0xffff0000;
      values[i] = view[0]!;
    }
    return floatTensor(tensor.name ?? '', (tensor.dims ?? []).map(Number), values);
  });
  const path = join(tmpdir(), `clearcut-isnet-bfloat16-${process.pid}.onnx`);
  await writeFile(path, encodeModel({ ...model, graph: { ...model.graph, initializer } }));
  return path;
};

const modelIous = async (path: string) =>
  (await masksOf({ ...fp32, path, sha256: path }, samples)).masks.map(
    (mask, i) => compareMasks(mask, reference[i]!).iou,
  );

const columns: [string, () => Promise<number[]>][] = [
  ['JPEG q95', () => withPixels(jpeg95)],
  ['±1 level', () => withPixels(noise)],
  ['1 px shift', shiftIous],
  [
    'bf16 weights',
    async () => {
      const path = await bfloat16Model();
      try {
        return await modelIous(path);
      } finally {
        await rm(path, { force: true });
      }
    },
  ],
];
const ious: number[][] = [];
for (const [label, run] of columns) {
  log(`${label} (load ${load()})`);
  ious.push(await run());
  log(`  ${samples.map((sample, i) => `${sample.name} ${ious.at(-1)![i]!.toFixed(4)}`).join(', ')}`);
}
const row = (label: string, values: readonly number[]) => [label, ...values.map((v) => Number(v.toFixed(4)))];
const labels = columns.map(([label]) => label);
const ofKind = (kind: Sample['kind']) => samples.flatMap((sample, i) => (sample.kind === kind ? [i] : []));
const mean = (list: readonly number[]) => list.reduce((a, b) => a + b, 0) / list.length;
const summary = (kind: Sample['kind'], name: string) => [
  row(
    `${name}, mean`,
    ious.map((column) => mean(ofKind(kind).map((i) => column[i]!))),
  ),
  row(
    `${name}, min`,
    ious.map((column) => Math.min(...ofKind(kind).map((i) => column[i]!))),
  ),
];
console.log(`\n### fp32 vs perturbed fp32, IoU at 0.5 (load ${loadBefore} → ${load()})\n`);
console.log(
  markdownTable([
    ['image', ...labels],
    ...samples.map((sample, i) =>
      row(
        sample.name,
        ious.map((column) => column[i]!),
      ),
    ),
    ...summary('photo', 'photos'),
    ...summary('composite', 'composites'),
  ]),
);
const path = await writeResults('int8-conditioning', {
  labels,
  images: samples.map((sample) => sample.name),
  ious,
  load: { before: loadBefore, after: load() },
});
console.log(`\nWrote ${path}`);
