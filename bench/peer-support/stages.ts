// Where our masks and the peer's part ways: our pipeline, then the peer's choices put in one at a
// time, each scored against the peer's mask (and the truth). With all of them in, the same weights
// on our onnxruntime-node give the peer's mask, so whatever differs is processing, not the model.
// The peer's steps as its dist code does them: point-sampled bilinear resize (sample at x·scale,
// no antialiasing) to 1024², (x − 128) / 256 per channel, the sigmoid output × 255 truncated, and
// the same bilinear back to the source size.
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../../src/images/decode.js';
import { normalizeForModel, resizeForModel } from '../../src/images/model-input.js';
import { predictionToMask, resizeMask } from '../../src/inference/postprocess.js';
import { compareMasks, type MaskAgreement, meanAgreement } from '../quality/metrics.js';
import { markdownTable } from '../support/results.js';
import type { BenchImage } from './images.js';

export const stageLabels = [
  'A ClearCut (Lanczos in, ÷max, mean 0.485/0.456/0.406, min-max, Lanczos out)',
  'B + mean 0.5',
  'C + (x − 128) / 256 instead of ÷max − mean',
  'D + point-sampled bilinear input resize',
  'E + raw sigmoid × 255 (no min-max)',
  'F + bilinear mask resize (= the peer)',
] as const;

export interface StageScores {
  readonly image: string;
  readonly vsPeer: readonly MaskAgreement[];
  readonly vsTruth?: readonly MaskAgreement[];
}

const size = 1024;
const registryNormalisation = { mean: [0.485, 0.456, 0.406], std: [1, 1, 1] } as const;
const isnetNormalisation = { mean: [0.5, 0.5, 0.5], std: [1, 1, 1] } as const;

/** Scores every stage on every image; `peerAlpha` holds the peer's mask per image name. */
export async function attributeStages(
  modelPath: string,
  threads: number,
  images: readonly BenchImage[],
  peerAlpha: ReadonlyMap<string, Uint8Array>,
): Promise<StageScores[]> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const predict = async (tensor: Float32Array) => {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, 3, size, size]) };
    const output = session.outputNames[0]!;
    return (await session.run(feeds, [output]))[output]!.data as Float32Array;
  };
  const scores: StageScores[] = [];
  try {
    for (const image of images) {
      const reference = peerAlpha.get(image.name);
      if (!reference) continue;
      const decoded = await decodeImage(image.bytes, {
        maxInputBytes: 2 ** 30,
        maxInputPixels: 2 ** 30,
        decodeTimeoutMs: 60_000,
      });
      const { width, height } = decoded;
      const rgb = decoded.channels === 3 ? decoded.pixels : dropAlpha(decoded.pixels);
      const lanczos = await resizeForModel(decoded, size);
      const bilinear = resizeBilinear(rgb, width, height, 3, size, size);
      const back = (mask: Uint8Array) => resizeMask(mask, size, width, height);
      const sigmoid = await predict(peerScaling(bilinear));
      const masks = [
        await back(
          predictionToMask(await predict(normalizeForModel(lanczos, size, registryNormalisation)), size),
        ),
        await back(
          predictionToMask(await predict(normalizeForModel(lanczos, size, isnetNormalisation)), size),
        ),
        await back(predictionToMask(await predict(peerScaling(lanczos)), size)),
        await back(predictionToMask(sigmoid, size)),
        await back(times255(sigmoid)),
        resizeBilinear(times255(sigmoid), size, size, 1, width, height),
      ];
      const truth = image.truth;
      scores.push({
        image: image.name,
        vsPeer: masks.map((mask) => compareMasks(mask, reference)),
        ...(truth && { vsTruth: masks.map((mask) => compareMasks(mask, truth)) }),
      });
    }
  } finally {
    await session.release();
  }
  return scores;
}

export function printStages(scores: readonly StageScores[]): void {
  const composites = scores.filter((score) => score.vsTruth);
  const fixed = (value: number) => Number(value.toFixed(4));
  console.log(`\n## Where the masks part: the peer's steps added one at a time (${scores.length} images)\n`);
  console.log(
    markdownTable([
      [
        'stage',
        'IoU vs peer',
        'MAE vs peer',
        'min IoU vs peer',
        `truth IoU (${composites.length})`,
        'truth MAE',
      ],
      ...stageLabels.map((label, stage) => {
        const vsPeer = scores.map((score) => score.vsPeer[stage]!);
        const mean = meanAgreement(vsPeer);
        const truth = meanAgreement(composites.map((score) => score.vsTruth![stage]!));
        return [
          label,
          fixed(mean.iou),
          fixed(mean.mae),
          fixed(Math.min(...vsPeer.map((a) => a.iou))),
          fixed(truth.iou),
          fixed(truth.mae),
        ];
      }),
    ]),
  );
}

function peerScaling(rgb: Uint8Array): Float32Array {
  const plane = size * size;
  const tensor = new Float32Array(plane * 3);
  for (let pixel = 0; pixel < plane; pixel++) {
    for (let channel = 0; channel < 3; channel++)
      tensor[channel * plane + pixel] = (rgb[pixel * 3 + channel]! - 128) / 256;
  }
  return tensor;
}

function times255(prediction: Float32Array): Uint8Array {
  const mask = new Uint8Array(size * size);
  for (let index = 0; index < mask.length; index++) mask[index] = Math.trunc(prediction[index]! * 255);
  return mask;
}

/** Bilinear between the pixels around x·(source/target), no antialiasing filter, rounded. */
function resizeBilinear(
  source: Uint8Array,
  sourceWidth: number,
  sourceHeight: number,
  channels: number,
  width: number,
  height: number,
): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  const scaleX = sourceWidth / width;
  const scaleY = sourceHeight / height;
  for (let y = 0; y < height; y++) {
    const fy = y * scaleY;
    const y1 = Math.floor(fy);
    const y2 = Math.min(Math.ceil(fy), sourceHeight - 1);
    const dy = fy - y1;
    for (let x = 0; x < width; x++) {
      const fx = x * scaleX;
      const x1 = Math.floor(fx);
      const x2 = Math.min(Math.ceil(fx), sourceWidth - 1);
      const dx = fx - x1;
      for (let channel = 0; channel < channels; channel++) {
        const at = (row: number, column: number) =>
          source[(row * sourceWidth + column) * channels + channel]!;
        const value =
          (1 - dx) * (1 - dy) * at(y1, x1) +
          dx * (1 - dy) * at(y1, x2) +
          (1 - dx) * dy * at(y2, x1) +
          dx * dy * at(y2, x2);
        out[(y * width + x) * channels + channel] = Math.round(value);
      }
    }
  }
  return out;
}

function dropAlpha(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let pixel = 0; pixel < rgba.length / 4; pixel++)
    rgb.set(rgba.subarray(pixel * 4, pixel * 4 + 3), pixel * 3);
  return rgb;
}
