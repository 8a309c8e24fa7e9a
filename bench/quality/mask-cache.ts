// IS-Net's masks of the quality images kept on disk between runs (`--mask-cache DIR`): the model
// step is ~1 s an image at 1024² and most of a run, while refinement is what changes between runs.
// Keyed by the model file's digest and the image's bytes, so a changed image or model misses.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface Prediction {
  readonly mask: Uint8Array;
  /** The model step's time when it ran (a cached mask keeps the time it took then). */
  readonly ms: number;
}

/** `predict()`'s result for `imageBytes`, from `dir` when there, else computed and stored there. */
export async function cachedPrediction(
  dir: string,
  modelSha256: string,
  imageBytes: Uint8Array,
  predict: () => Promise<Prediction>,
): Promise<Prediction> {
  const key = createHash('sha256').update(modelSha256).update(imageBytes).digest('hex');
  const path = join(dir, `${key}.mask`);
  const stored = await readFile(path).catch(() => undefined);
  if (stored) {
    // 8 bytes of float64 time, then the mask
    return { ms: stored.readDoubleLE(0), mask: new Uint8Array(stored.subarray(8)) };
  }
  const made = await predict();
  const out = Buffer.alloc(8 + made.mask.length);
  out.writeDoubleLE(made.ms, 0);
  out.set(made.mask, 8);
  await mkdir(dir, { recursive: true });
  await writeFile(path, out);
  return made;
}
