// Speed: fp32 and int8 engines of one pair open side by side in one process, each image run through
// both in turn (the order swapped every image, so neither always runs on a warmer cache), at each
// thread count. The parent starts several such processes one after another and pools them.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { decodeImage } from '../../src/images/decode.js';
import { createEngine, type MaskTimings } from '../../src/inference/engine.js';
import type { ModelPair } from './models.js';

export interface SpeedRequest {
  readonly pairs: readonly ModelPair[];
  readonly threads: readonly number[];
  /** Encoded images (JPEG/PNG/WebP). */
  readonly photos: readonly { readonly name: string; readonly bytes: Uint8Array }[];
}

export interface SpeedSample {
  readonly pair: string;
  readonly threads: number;
  readonly photo: string;
  /** Model step inside ONNX Runtime (engine timings.ortMs). */
  readonly fp32Ms: number;
  readonly int8Ms: number;
}

/** Runs one measuring process and returns its samples. */
export function measureInChild(request: SpeedRequest): Promise<SpeedSample[]> {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let samples: SpeedSample[] | undefined;
    child.on('message', (message: SpeedSample[]) => {
      samples = message;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (samples && code === 0) resolve(samples);
      else reject(new Error(`the speed process exited with code ${code} before reporting`));
    });
    child.send(request);
  });
}

async function measure({ pairs, threads, photos }: SpeedRequest): Promise<SpeedSample[]> {
  const limits = loadConfig(process.env).inference;
  const images = await Promise.all(photos.map((photo) => decodeImage(Buffer.from(photo.bytes), limits)));
  const samples: SpeedSample[] = [];
  for (const pair of pairs) {
    for (const count of threads) {
      const fp32 = await createEngine(pair.fp32, { threads: count });
      const int8 = await createEngine(pair.int8, { threads: count });
      try {
        // First runs allocate: not measured.
        await fp32.predictMask(images[0]!);
        await int8.predictMask(images[0]!);
        for (const [index, image] of images.entries()) {
          const time = async (engine: typeof fp32) => {
            const timings: MaskTimings = { preprocessMs: 0, inferenceMs: 0, ortMs: 0, postprocessMs: 0 };
            await engine.predictMask(image, timings);
            return timings.ortMs;
          };
          const [fp32Ms, int8Ms] =
            index % 2 === 0
              ? [await time(fp32), await time(int8)]
              : await time(int8).then(async (int8First) => [await time(fp32), int8First]);
          samples.push({
            pair: pair.label,
            threads: count,
            photo: photos[index]!.name,
            fp32Ms: fp32Ms!,
            int8Ms: int8Ms!,
          });
        }
      } finally {
        await fp32.close();
        await int8.close();
      }
    }
  }
  return samples;
}

if (process.argv.includes('--child')) {
  process.once('message', (request: SpeedRequest) => {
    measure(request).then(
      (samples) => process.send?.(samples, () => process.exit(0)),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
