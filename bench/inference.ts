// npm run bench:inference [-- --models u2net,u2netp --threads 1,2 --photos DIR|generated --count 4 --no-encoders]
//
// Per image: decode, pre-process, inference (engine: hand-over to the session thread and back; ORT:
// inside ONNX Runtime), post-process, and the encode of each rendition alone; next to a bare ONNX
// Runtime loop on the same tensors (the model's floor) at batch 1 and batch 4. Then a sweep of
// encoder settings on a 2000×2000 cutout. Prints Markdown tables; writes bench/results/*.json.
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp, { type Sharp } from 'sharp';
import { loadConfig } from '../src/config.js';
import { type Rendition, renditionListSchema } from '../src/contracts/renditions.js';
import { decodeImage } from '../src/images/decode.js';
import { normalizeForModel, resizeForModel } from '../src/images/model-input.js';
import { createEngine, type MaskTimings } from '../src/inference/engine.js';
import { composeCutout, renderRenditions } from '../src/inference/render.js';
import { type ResolvedModel, resolveModel } from '../src/models/registry.js';
import { generatePhoto, generatePhotos, type Photo, photosIn, sharedPhotoDir } from './support/photos.js';
import { markdownTable, median, writeResults } from './support/results.js';

/** Multiply-adds × 2 of one 320×320 pass of each topology (the figures). */
const gflopPerImage: Record<string, number> = { u2net: 117.2, u2netp: 39.5, u2net_human_seg: 117.2 };

const renditions = renditionListSchema.parse([
  { kind: 'cutout' },
  { kind: 'mask' },
  { kind: 'white' },
  { kind: 'crop', margin: '5%' },
]);

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'u2net,u2netp' },
    threads: { type: 'string', default: '1,2' },
    photos: { type: 'string' },
    count: { type: 'string', default: '4' },
    'no-encoders': { type: 'boolean', default: false },
  },
});

const config = loadConfig(process.env);
const limits = { ...config.inference, maxInputPixels: Math.max(config.inference.maxInputPixels, 4_000_000) };

interface Row {
  model: string;
  source: string;
  threads: number;
  images: number;
  decodeMs: number;
  preprocessMs: number;
  inferenceMs: number;
  ortMs: number;
  postprocessMs: number;
  encodeMs: Record<string, number>;
  totalMs: number;
  bareMs: number;
  bareBatch4PerImageMs: number | null;
  gflops: { engine: number; bare: number };
}

async function choosePhotos(): Promise<{ label: string; photos: Photo[] }> {
  const count = Number(values.count);
  if (values.photos && values.photos !== 'generated') {
    return { label: values.photos, photos: await photosIn(values.photos) };
  }
  const shared = values.photos === 'generated' ? [] : await photosIn(sharedPhotoDir);
  if (shared.length > 0) return { label: '../shared/fixtures/photos', photos: shared };
  return { label: `${count} generated 2000×2000 JPEGs`, photos: await generatePhotos(count) };
}

interface Sample {
  decodeMs: number;
  timings: MaskTimings;
  encodeMs: Record<string, number>;
  bareMs: number;
}

/**
 * The engine's pipeline and the bare session, image by image in turn, so both see the same load on
 * a shared machine; then the bare session once at batch 4.
 */
async function measure(model: ResolvedModel, threads: number, photos: Photo[], tensors: Float32Array[]) {
  const size = model.spec.inputSize;
  const engine = await createEngine(model, { threads });
  const session = await ort.InferenceSession.create(model.path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const input = session.inputNames[0]!;
  const bare = async (data: Float32Array, batch: number) => {
    const started = performance.now();
    await session.run({ [input]: new ort.Tensor('float32', data, [batch, 3, size, size]) });
    return performance.now() - started;
  };
  try {
    await bare(tensors[0]!, 1); // warm-up: first-run allocations
    await engine.predictMask(await decodeImage(photos[0]!.bytes, limits));
    const samples: Sample[] = [];
    for (const [index, photo] of photos.entries()) {
      let started = performance.now();
      const image = await decodeImage(photo.bytes, limits);
      const decodeMs = performance.now() - started;
      const timings: MaskTimings = { preprocessMs: 0, inferenceMs: 0, ortMs: 0, postprocessMs: 0 };
      const mask = await engine.predictMask(image, timings);
      const encodeMs: Record<string, number> = {};
      for (const rendition of renditions) {
        started = performance.now();
        await renderRenditions(image, mask, [rendition]);
        encodeMs[label(rendition)] = performance.now() - started;
      }
      samples.push({ decodeMs, timings, encodeMs, bareMs: await bare(tensors[index]!, 1) });
    }
    let batch4: number | null = null;
    if (tensors.length >= 4) {
      const stacked = new Float32Array(tensors[0]!.length * 4);
      for (const [index, tensor] of tensors.slice(0, 4).entries()) stacked.set(tensor, index * tensor.length);
      batch4 = (await bare(stacked, 4)) / 4;
    }
    return { samples, batch4 };
  } finally {
    await session.release();
    await engine.close();
  }
}

function label(rendition: Rendition): string {
  return `${rendition.kind} ${rendition.format}`;
}

async function benchModels(photos: Photo[]): Promise<Row[]> {
  const rows: Row[] = [];
  const images = await Promise.all(photos.map((photo) => decodeImage(photo.bytes, limits)));
  for (const name of values.models.split(',')) {
    const model = await resolveModel(config.models, name);
    const size = model.spec.inputSize;
    const tensors = await Promise.all(
      images.map(async (image) => normalizeForModel(await resizeForModel(image, size), size, model.spec)),
    );
    for (const threads of values.threads.split(',').map(Number)) {
      console.error(`${name} (${model.source}), ${threads} thread(s): ${photos.length} images...`);
      const { samples, batch4 } = await measure(model, threads, photos, tensors);
      const of = (pick: (sample: Sample) => number) => median(samples.map(pick));
      const encodeMs = Object.fromEntries(
        renditions.map((r) => [label(r), of((sample) => sample.encodeMs[label(r)]!)]),
      );
      const ortMs = of((sample) => sample.timings.ortMs);
      const row: Row = {
        model: name,
        source: model.source,
        threads,
        images: photos.length,
        decodeMs: of((sample) => sample.decodeMs),
        preprocessMs: of((sample) => sample.timings.preprocessMs),
        inferenceMs: of((sample) => sample.timings.inferenceMs),
        ortMs,
        postprocessMs: of((sample) => sample.timings.postprocessMs),
        encodeMs,
        totalMs: of(
          (sample) =>
            sample.decodeMs +
            sample.timings.preprocessMs +
            sample.timings.inferenceMs +
            sample.timings.postprocessMs +
            Object.values(sample.encodeMs).reduce((sum, ms) => sum + ms, 0),
        ),
        bareMs: of((sample) => sample.bareMs),
        bareBatch4PerImageMs: batch4,
        gflops: {
          engine: (gflopPerImage[name] ?? Number.NaN) / (ortMs / 1000),
          bare: (gflopPerImage[name] ?? Number.NaN) / (of((sample) => sample.bareMs) / 1000),
        },
      };
      rows.push(row);
    }
  }
  return rows;
}

/** PNG, WebP and JPEG settings on one realistic 2000×2000 cutout: time and size. */
async function encoderSweep() {
  const side = 2000;
  const photo = await generatePhoto(side, side, 7);
  const image = await decodeImage(photo.bytes, limits);
  const mask = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const distance = Math.hypot((x - side / 2) / (side * 0.3), (y - side / 2) / (side * 0.42));
      mask[y * side + x] = Math.max(0, Math.min(255, Math.round((1.02 - distance) * 6000)));
    }
  }
  const { rgba } = composeCutout(image, mask);
  const cutout = () => sharp(rgba, { raw: { width: side, height: side, channels: 4 } });
  const settings: [string, () => Sharp][] = [];
  for (const level of [1, 2, 3, 6, 9]) {
    for (const adaptiveFiltering of [false, true]) {
      settings.push([
        `png level ${level}${adaptiveFiltering ? ' adaptive' : ''}`,
        () => cutout().png({ compressionLevel: level, adaptiveFiltering }),
      ]);
    }
  }
  for (const effort of [0, 2, 4]) {
    settings.push([
      `webp q90 effort ${effort}`,
      () => cutout().webp({ quality: 90, alphaQuality: 100, effort }),
    ]);
  }
  settings.push([
    'jpeg q90 (white)',
    () => cutout().flatten({ background: '#ffffff' }).jpeg({ quality: 90 }),
  ]);
  settings.push([
    'jpeg q90 mozjpeg (white)',
    () => cutout().flatten({ background: '#ffffff' }).jpeg({ quality: 90, mozjpeg: true }),
  ]);
  const results: { setting: string; ms: number; kib: number }[] = [];
  for (const [setting, pipeline] of settings) {
    const times: number[] = [];
    let bytes = 0;
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      bytes = (await pipeline().toBuffer()).length;
      times.push(performance.now() - started);
    }
    results.push({ setting, ms: median(times), kib: bytes / 1024 });
  }
  return results;
}

const fixed = (value: number | null, digits = 0) =>
  value === null || Number.isNaN(value) ? '-' : Number(value.toFixed(digits));

const { label: photoLabel, photos } = await choosePhotos();
console.error(`Photos: ${photoLabel} (${photos.length})`);
const rows = await benchModels(photos);
console.log(`\n### Inference: median ms per image (${photoLabel}, ${photos.length} images)\n`);
console.log(
  markdownTable([
    [
      'model',
      'threads',
      'decode',
      'pre',
      'infer (engine)',
      'ORT',
      'bare ORT',
      'bare ×4 /img',
      'post',
      ...renditions.map(label),
      'total',
      'GFLOP/s ORT',
      'GFLOP/s bare',
    ],
    ...rows.map((row) => [
      `${row.model} (${row.source})`,
      row.threads,
      fixed(row.decodeMs),
      fixed(row.preprocessMs),
      fixed(row.inferenceMs),
      fixed(row.ortMs),
      fixed(row.bareMs),
      fixed(row.bareBatch4PerImageMs),
      fixed(row.postprocessMs),
      ...renditions.map((r) => fixed(row.encodeMs[label(r)]!)),
      fixed(row.totalMs),
      fixed(row.gflops.engine, 1),
      fixed(row.gflops.bare, 1),
    ]),
  ]),
);
const sweep = values['no-encoders'] ? [] : await encoderSweep();
if (sweep.length > 0) {
  console.log('\n### Encoders on a 2000×2000 cutout (median of 3)\n');
  console.log(
    markdownTable([
      ['setting', 'ms', 'KiB'],
      ...sweep.map((entry) => [entry.setting, fixed(entry.ms), fixed(entry.kib)]),
    ]),
  );
}
const path = await writeResults('inference', { photos: photoLabel, gflopPerImage, rows, encoders: sweep });
console.log(`\nWrote ${path}`);
