// The standard matting errors (Rhemann et al., CVPR 2009, as alphamatting.com reports them; the
// gradient and connectivity code follows the evaluation of Xu et al., "Deep Image Matting", 2017),
// summed over the unknown band of the truth and divided by 1000 as those benchmarks print them,
// and the colour error of the cutout composited on a new background.
import { bandRegion } from '../../src/inference/refine/band.js';
import { boxMean } from '../../src/inference/refine/box-filter.js';

export interface MattingErrors {
  /** Sum of |α − α*| over the band (α in 0–1), ÷ 1000. */
  readonly sad: number;
  /** Sum of (|∇α| − |∇α*|)² over the band, gradients of Gaussian derivative filters (σ 1.4), ÷ 1000. */
  readonly grad: number;
  /** Connectivity error (threshold step 0.1, 4-connected, φ cut at 0.15) over the band, ÷ 1000. */
  readonly conn: number;
}

/**
 * The truth's unknown band: pixels within `radius` (a square) of a partial truth pixel or of the
 * truth's 0.5 contour. The same band scores every method, so they are compared on equal ground.
 */
export function truthBand(truth: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const partial = new Float32Array(truth.length);
  const inside = new Float32Array(truth.length);
  for (let i = 0; i < truth.length; i++) {
    partial[i] = truth[i]! > 0 && truth[i]! < 255 ? 1 : 0;
    inside[i] = truth[i]! >= 128 ? 1 : 0;
  }
  const near = boxMean(partial, width, height, radius);
  const sides = boxMean(inside, width, height, radius);
  const band = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) band[i] = near[i]! > 0 || (sides[i]! > 0 && sides[i]! < 1) ? 1 : 0;
  return band;
}

export function mattingErrors(
  alpha: Uint8Array,
  truth: Uint8Array,
  width: number,
  height: number,
  band: Uint8Array,
): MattingErrors {
  let sad = 0;
  for (let i = 0; i < alpha.length; i++) if (band[i]) sad += Math.abs(alpha[i]! - truth[i]!) / 255;
  // Gradients on the band's box only (grown by the filter's reach): the rest would not be summed.
  const box = bandRegion(band, width, height, 5);
  let grad = 0;
  if (box) {
    const crop = (values: Uint8Array) => {
      const out = new Uint8Array(box.width * box.height);
      for (let y = 0; y < box.height; y++) {
        const from = (box.top + y) * width + box.left;
        out.set(values.subarray(from, from + box.width), y * box.width);
      }
      return out;
    };
    const predicted = gradientMagnitude(crop(alpha), box.width, box.height);
    const expected = gradientMagnitude(crop(truth), box.width, box.height);
    for (let y = 0; y < box.height; y++) {
      for (let x = 0; x < box.width; x++) {
        if (!band[(box.top + y) * width + box.left + x]) continue;
        grad += (predicted[y * box.width + x]! - expected[y * box.width + x]!) ** 2;
      }
    }
  }
  return {
    sad: sad / 1000,
    grad: grad / 1000,
    conn: connectivityError(alpha, truth, width, height, band) / 1000,
  };
}

/**
 * Mean |colour − true colour| (8-bit levels, over RGB and the band's pixels) of the cutout
 * (its colours `rgb`, its alpha) and the truth (true foreground, true alpha), both composited on
 * `onto`: a halo of the old background, or a wrong alpha, shows as error.
 */
export function colourError(
  rgb: Uint8Array,
  alpha: Uint8Array,
  foreground: Uint8Array,
  truth: Uint8Array,
  band: Uint8Array,
  onto: readonly [number, number, number],
): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (!band[i]) continue;
    const a = alpha[i]! / 255;
    const t = truth[i]! / 255;
    for (let c = 0; c < 3; c++) {
      const ours = rgb[i * 3 + c]! * a + onto[c]! * (1 - a);
      const real = foreground[i * 3 + c]! * t + onto[c]! * (1 - t);
      sum += Math.abs(ours - real);
    }
    count += 3;
  }
  return count === 0 ? 0 : sum / count;
}

const sigma = 1.4;

/** |∇α| with α in 0–1: first-derivative-of-Gaussian filters along x and y, each of unit energy. */
function gradientMagnitude(alpha: Uint8Array, width: number, height: number): Float32Array {
  // half-width 4 for σ 1.4: where the Gaussian falls below 1 % of its peak, as in the DIM code
  const half = Math.ceil(Math.sqrt(-2 * sigma * sigma * Math.log(Math.sqrt(2 * Math.PI) * sigma * 0.01)));
  const gauss: number[] = [];
  const derivative: number[] = [];
  for (let x = -half; x <= half; x++) {
    const g = Math.exp((-x * x) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
    gauss.push(g);
    derivative.push((-x / (sigma * sigma)) * g);
  }
  const energy = Math.sqrt(gauss.reduce((s, v) => s + v * v, 0) * derivative.reduce((s, v) => s + v * v, 0));
  const values = Float32Array.from(alpha, (value) => value / 255);
  const gx = separable(values, width, height, derivative, gauss, half);
  const gy = separable(values, width, height, gauss, derivative, half);
  const out = new Float32Array(alpha.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(gx[i]!, gy[i]!) / energy;
  return out;
}

/** Convolution with `alongX` on rows then `alongY` on columns, edges replicated. */
function separable(
  values: Float32Array,
  width: number,
  height: number,
  alongX: readonly number[],
  alongY: readonly number[],
  half: number,
): Float32Array {
  const rows = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -half; k <= half; k++) {
        sum += values[y * width + Math.min(width - 1, Math.max(0, x - k))]! * alongX[k + half]!;
      }
      rows[y * width + x] = sum;
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = -half; k <= half; k++) {
        sum += rows[Math.min(height - 1, Math.max(0, y - k)) * width + x]! * alongY[k + half]!;
      }
      out[y * width + x] = sum;
    }
  }
  return out;
}

/**
 * For each threshold t = 0.1 … 1, the largest 4-connected region where both alphas are ≥ t; a
 * pixel's level l is the last threshold before it left that region. φ = 1 − (α − l) where
 * α − l ≥ 0.15, else 1; the error sums |φ − φ*| over the band.
 */
function connectivityError(
  alpha: Uint8Array,
  truth: Uint8Array,
  width: number,
  height: number,
  band: Uint8Array,
): number {
  const both = new Uint8Array(alpha.length);
  for (let i = 0; i < both.length; i++) both[i] = Math.min(alpha[i]!, truth[i]!);
  const level = new Float32Array(alpha.length).fill(-1);
  const label = new Int32Array(alpha.length);
  const queue = new Int32Array(alpha.length);
  for (let step = 1; step <= 10; step++) {
    const t = Math.round(step * 25.5); // t in 8-bit levels: 26, 51, … 255
    const best = largestRegion(both, width, height, t, label, queue);
    for (let i = 0; i < level.length; i++) {
      if (level[i] === -1 && (best === 0 || label[i] !== best)) level[i] = (step - 1) / 10;
    }
  }
  let sum = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (!band[i]) continue;
    const l = level[i] === -1 ? 1 : level[i]!;
    const d = alpha[i]! / 255 - l;
    const e = truth[i]! / 255 - l;
    sum += Math.abs((d >= 0.15 ? 1 - d : 1) - (e >= 0.15 ? 1 - e : 1));
  }
  return sum;
}

/** Labels the 4-connected regions of `both` ≥ threshold into `label`; returns the largest's label (0: none). */
function largestRegion(
  both: Uint8Array,
  width: number,
  height: number,
  threshold: number,
  label: Int32Array,
  queue: Int32Array,
): number {
  label.fill(0);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  const last = (height - 1) * width;
  for (let start = 0; start < both.length; start++) {
    if (label[start] || both[start]! < threshold) continue;
    const id = ++next;
    label[start] = id;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const at = queue[head++]!;
      const x = at % width;
      if (x > 0 && !label[at - 1] && both[at - 1]! >= threshold) {
        label[at - 1] = id;
        queue[tail++] = at - 1;
      }
      if (x < width - 1 && !label[at + 1] && both[at + 1]! >= threshold) {
        label[at + 1] = id;
        queue[tail++] = at + 1;
      }
      if (at >= width && !label[at - width] && both[at - width]! >= threshold) {
        label[at - width] = id;
        queue[tail++] = at - width;
      }
      if (at < last && !label[at + width] && both[at + width]! >= threshold) {
        label[at + width] = id;
        queue[tail++] = at + width;
      }
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = id;
    }
  }
  return best;
}
