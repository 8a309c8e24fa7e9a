// A garbage collection on demand, where the engine knows large buffers just became garbage and
// ONNX Runtime is about to take its peak. V8 collects ArrayBuffers only when its own heap or their
// total grows enough (about 64 MiB more since the last collection), so without this a worker
// carries the previous images' decoded pixels, cutouts and encoded outputs into the next
// inference (IS-Net medium, 2000² photos: peak 777–778 MiB with it, creeping 777 → 864 without).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * `minor`: the young generation only, where buffers made for one image still are (a few ms);
 * `major`: the whole heap.
 */
export function collectGarbage(type: 'minor' | 'major'): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as (options: { type: string }) => void)({ type });
}
