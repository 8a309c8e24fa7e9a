// The model's S×S mask enlarged to the source's size, byte for byte what sharp's
// resize(width, height, { fit: 'fill', kernel: 'lanczos3' }) gives on one 8-bit band, in a
// fraction of its CPU. libvips enlarges with its affine transform and the bicubic (Catmull-Rom)
// interpolator whatever kernel is asked (resample/resize.c, 8.18), in fixed point: each of the four
// source rows under an output pixel is filtered across and rounded, then the four results down.
// Filtering across depends only on the source row and the output column, so it is done once per
// pair here instead of once per output pixel, and the second pass runs on whole rows. Every
// coordinate is computed as libvips computes it (resample/affine.c, transform.c, bicubic.cpp),
// in the same double arithmetic, so the tap positions and weights are the same. A sharp whose
// libvips samples otherwise (8.19 moves the centre offset) fails test/inference/mask-upscale.test.ts.
import { imageBuffers } from './buffer-pool.js';

/** VIPS_TRANSFORM_SCALE: sub-pixel positions per pixel of the coefficient table. */
const positions = 64;
/** VIPS_INTERPOLATE_SHIFT: fixed-point bits of the coefficients. */
const shift = 12;
const half = 1 << (shift - 1);

/** libvips' Catmull-Rom table: 65 positions × 4 taps, as truncated fixed-point integers. */
const coefficients: Int32Array = (() => {
  const table = new Int32Array((positions + 1) * 4);
  for (let position = 0; position <= positions; position++) {
    // calculate_coefficients_catmull (resample/templates.h), operation for operation.
    const x = Math.fround(position / positions);
    const cr1 = 1 - x;
    const cr2 = -0.5 * x;
    const cr3 = cr1 * cr2;
    const cone = cr1 * cr3;
    const cfou = x * cr3;
    const cr4 = cfou - cone;
    const ctwo = cr1 - cone + cr4;
    const cthr = x - cfou - cr4;
    table.set(
      [cone, ctwo, cthr, cfou].map((c) => Math.trunc(c * (1 << shift))),
      position * 4,
    );
  }
  return table;
})();

/** sharp's resize: shrink = source / target on each axis, then vips_resize(1 / shrink). */
interface Scales {
  readonly across: number;
  readonly down: number;
}

interface Taps {
  /** The first of the four source indices (clamped to the edge) for each output index. */
  readonly first: Int32Array;
  /** Offsets of the other three from the first: 0 where the edge clamps them. */
  readonly steps: Int32Array;
  /** Index into `coefficients` (position × 4) for each output index. */
  readonly weights: Int32Array;
}

/**
 * Where each of `out` output pixels reads on an axis of `size` source pixels: libvips' inverse
 * transform for resize's centre convention, with the affine's two-pixel border of copied edge
 * pixels, accumulated from the first output pixel as vips_affine_gen does along a row.
 */
function tapsFor(size: number, out: number, scales: Scales, accumulate: boolean): Taps {
  // resize.c (libvips 8.18, as sharp ships it) shifts the input by 0.5 for centre sampling, the
  // affine's border by −1 more; transform.c inverts diag(a, d) as (1 / (a × d)) × d across, × a down.
  const displacement = 0.5 - 1;
  const inverse = (1 / (scales.across * scales.down)) * (accumulate ? scales.down : scales.across);
  const first = new Int32Array(out);
  const steps = new Int32Array(out * 3);
  const weights = new Int32Array(out);
  let position = 0 - displacement + 1;
  for (let index = 0; index < out; index++) {
    const at = accumulate ? position : inverse * index - displacement + 1;
    const fraction = ((Math.trunc(at * positions * 2) & (positions * 2 - 1)) + 1) >> 1;
    // The window starts one pixel before floor(at) in the bordered image, two pixels before the source.
    const start = Math.trunc(at) - 3;
    const clamp = (i: number) => Math.min(size - 1, Math.max(0, i));
    first[index] = clamp(start);
    for (let tap = 1; tap < 4; tap++) steps[index * 3 + tap - 1] = clamp(start + tap) - first[index]!;
    weights[index] = fraction * 4;
    position += inverse;
  }
  return { first, steps, weights };
}

/**
 * `mask` (size × size, one byte per pixel) enlarged to width × height as sharp's Lanczos-3
 * resize does it (see above). Both sides must be larger than `size`: libvips reduces, not
 * interpolates, on an axis that shrinks.
 */
export function upscaleMask(mask: Uint8Array, size: number, width: number, height: number): Uint8Array {
  if (width <= size || height <= size)
    throw new RangeError(`upscaleMask enlarges only: ${size}² to ${width}×${height}`);
  if (mask.length !== size * size) throw new RangeError(`expected ${size * size} bytes, got ${mask.length}`);
  // Along a row, libvips adds the step to the position pixel by pixel; each row's own position is computed.
  const scales = { across: 1 / (size / width), down: 1 / (size / height) };
  const across = tapsFor(size, width, scales, true);
  const down = tapsFor(size, height, scales, false);
  // Pass 1: every source row filtered across to the output's width, rounded, not clipped (as libvips).
  // Into one buffer kept between calls (they never overlap: this function does not yield).
  const rows = size * width <= keptScratch ? scratchOf(size * width) : new Int32Array(size * width);
  for (let row = 0; row < size; row++) {
    const source = row * size;
    const target = row * width;
    for (let x = 0; x < width; x++) {
      const p = source + across.first[x]!;
      const s = x * 3;
      const w = across.weights[x]!;
      rows[target + x] =
        (coefficients[w]! * mask[p]! +
          coefficients[w + 1]! * mask[p + across.steps[s]!]! +
          coefficients[w + 2]! * mask[p + across.steps[s + 1]!]! +
          coefficients[w + 3]! * mask[p + across.steps[s + 2]!]! +
          half) >>
        shift;
    }
  }
  // Pass 2: each output row from four filtered rows; a clamped array clips to 0–255 as libvips does.
  // Where the four rows hold one value v across a run of columns the output is v (the weights of
  // every position sum to within 8/4096 of one, so v × sum rounds back to v), filled, not computed:
  // a product shot's mask is 0 or 255 almost everywhere but near the subject's outline. Every byte
  // is written, so the output may come from the pool (its taker gives it back, buffer-pool.ts).
  const out = new Uint8ClampedArray(imageBuffers.take(width * height).buffer, 0, width * height);
  let group = -1;
  let flat: number[] = [];
  for (let y = 0; y < height; y++) {
    const r0 = down.first[y]! * width;
    const r1 = r0 + down.steps[y * 3]! * width;
    const r2 = r0 + down.steps[y * 3 + 1]! * width;
    const r3 = r0 + down.steps[y * 3 + 2]! * width;
    // Output rows come in runs that read the same four rows: their flat runs are found once.
    const key =
      down.first[y]! * 64 + down.steps[y * 3]! * 16 + down.steps[y * 3 + 1]! * 4 + down.steps[y * 3 + 2]!;
    if (key !== group) {
      group = key;
      flat = flatRuns(rows, r0, r1, r2, r3, width);
    }
    const w = down.weights[y]!;
    const c0 = coefficients[w]!;
    const c1 = coefficients[w + 1]!;
    const c2 = coefficients[w + 2]!;
    const c3 = coefficients[w + 3]!;
    const target = y * width;
    let x = 0;
    for (let run = 0; run <= flat.length; run += 3) {
      const end = run < flat.length ? flat[run]! : width;
      for (; x < end; x++)
        out[target + x] =
          (c0 * rows[r0 + x]! + c1 * rows[r1 + x]! + c2 * rows[r2 + x]! + c3 * rows[r3 + x]! + half) >> shift;
      if (run === flat.length) break;
      x = flat[run + 1]!;
      out.fill(flat[run + 2]!, target + end, target + x);
    }
  }
  return new Uint8Array(out.buffer, 0, out.length);
}

/** Pass 1's rows: 2.5 MB for a 2000-wide output that would otherwise be garbage after each image. */
let scratch = new Int32Array(0);

/** Rows kept between calls at most (16 MB: a 1024² model's mask to 4096 wide); larger ones are not kept. */
const keptScratch = 4 * 1024 * 1024;

function scratchOf(length: number): Int32Array {
  if (scratch.length < length) scratch = new Int32Array(length);
  return scratch;
}

/** Shorter runs are computed: filling them saves less than finding them costs. */
const shortestRun = 16;

/** Runs where four filtered rows hold the same value 0–255, as [start, end, value] triples. */
function flatRuns(rows: Int32Array, r0: number, r1: number, r2: number, r3: number, width: number): number[] {
  const runs: number[] = [];
  let x = 0;
  while (x < width) {
    const value = rows[r0 + x]!;
    let end = x;
    while (
      end < width &&
      rows[r0 + end] === value &&
      rows[r1 + end] === value &&
      rows[r2 + end] === value &&
      rows[r3 + end] === value
    )
      end++;
    if (end - x >= shortestRun && value >= 0 && value <= 255) runs.push(x, end, value);
    x = Math.max(end, x + 1);
  }
  return runs;
}
