// From observed activation values to the range each uint8 activation covers, and its scale and
// zero point. Three ways to pick the range: the full observed min..max, a percentile that clips rare
// outliers, or the threshold whose clipped-and-rounded distribution is closest (KL divergence) to
// the observed one (TensorRT's "entropy" calibration).
export const calibrationMethods = ['minmax', 'percentile', 'entropy'] as const;
export type CalibrationMethod = (typeof calibrationMethods)[number];

export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

export const histogramBins = 2048;

/** Fixed-range counts over [min, max]; values outside fall into the end bins. */
export class Histogram {
  readonly counts = new Float64Array(histogramBins);
  private readonly width: number;

  constructor(readonly range: Range) {
    this.width = Math.max(range.max - range.min, Number.MIN_VALUE) / histogramBins;
  }

  add(values: ArrayLike<number>): void {
    const { counts, width } = this;
    const { min } = this.range;
    const last = histogramBins - 1;
    for (let i = 0; i < values.length; i++) {
      const bin = Math.floor((values[i]! - min) / width);
      counts[Math.max(0, Math.min(bin, last))]! += 1;
    }
  }

  /** The value below which `fraction` of the counts lie (linear within the bin). */
  quantile(fraction: number): number {
    const total = this.counts.reduce((sum, count) => sum + count, 0);
    const target = fraction * total;
    let seen = 0;
    for (let bin = 0; bin < histogramBins; bin++) {
      const count = this.counts[bin]!;
      if (seen + count >= target && count > 0) {
        return this.range.min + (bin + (target - seen) / count) * this.width;
      }
      seen += count;
    }
    return this.range.max;
  }

  /** Value at the lower edge of `bin`. */
  edge(bin: number): number {
    return this.range.min + bin * this.width;
  }
}

export interface RangeOptions {
  readonly method: CalibrationMethod;
  /** For `percentile`: the share of values kept inside the range, e.g. 99.99. */
  readonly percentile: number;
}

/**
 * The range to quantize. Always contains 0 (so zero is exact, as padding needs); a Relu output
 * starts at exactly 0. Histogram methods need the histogram collected over `observed`.
 */
export function chooseRange(
  observed: Range,
  histogram: Histogram | undefined,
  nonNegative: boolean,
  options: RangeOptions,
): Range {
  let { min, max } = observed;
  if (options.method !== 'minmax') {
    if (!histogram) throw new Error(`${options.method} calibration needs a histogram`);
    if (options.method === 'percentile') {
      const tail = 1 - options.percentile / 100;
      if (max > 0) max = Math.min(max, histogram.quantile(min >= 0 ? 1 - tail : 1 - tail / 2));
      if (min < 0) min = Math.max(min, histogram.quantile(max <= 0 ? tail : tail / 2));
    } else {
      ({ min, max } = entropyRange(histogram, observed));
    }
  }
  min = nonNegative ? 0 : Math.min(min, 0);
  max = Math.max(max, 0);
  return { min, max };
}

/** Asymmetric uint8: min ↦ 0, max ↦ 255, with 0 exactly representable. */
export function uint8Params({ min, max }: Range): QuantParams {
  const span = max - min;
  // A tensor that is constant zero still needs a valid (positive) scale.
  if (!(span > 1e-12)) return { scale: 1, zeroPoint: 0 };
  const scale = span / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

/** Each side of zero gets its own KL-chosen threshold; one-sided tensors use all 256 levels. */
function entropyRange(histogram: Histogram, observed: Range): Range {
  const counts = histogram.counts;
  const zeroBin = Math.min(
    histogramBins,
    Math.max(0, Math.round((0 - observed.min) / ((observed.max - observed.min) / histogramBins))),
  );
  const positive = counts.subarray(zeroBin);
  const negative = counts.subarray(0, zeroBin).slice().reverse();
  const twoSided = positive.length > 0 && negative.length > 0 && observed.min < 0 && observed.max > 0;
  const levels = twoSided ? 128 : 256;
  const max = observed.max > 0 ? histogram.edge(zeroBin + klThresholdBins(positive, levels)) : 0;
  const min = observed.min < 0 ? histogram.edge(zeroBin - klThresholdBins(negative, levels)) : 0;
  return { min: Math.max(min, observed.min), max: Math.min(max, observed.max) };
}

/**
 * How many bins (from zero outward) to keep so that clipping the rest into the last bin and
 * rounding to `levels` levels loses the least information. Candidates step by a few bins: the
 * result moves by less than a bin's width, and the search is 8× cheaper.
 */
export function klThresholdBins(counts: Float64Array, levels: number): number {
  const bins = counts.length;
  if (bins <= levels) return bins;
  const step = 8;
  let best = bins;
  let bestDivergence = Number.POSITIVE_INFINITY;
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return bins;
  for (let kept = levels; kept <= bins; kept += step) {
    const divergence = clippingDivergence(counts, kept, levels);
    if (divergence < bestDivergence) {
      bestDivergence = divergence;
      best = kept;
    }
  }
  return best;
}

function clippingDivergence(counts: Float64Array, kept: number, levels: number): number {
  const reference = counts.slice(0, kept);
  let outliers = 0;
  for (let bin = kept; bin < counts.length; bin++) outliers += counts[bin]!;
  reference[kept - 1]! += outliers;
  // The quantized distribution: each level's mass spread evenly over its non-empty bins.
  const quantized = new Float64Array(kept);
  for (let level = 0; level < levels; level++) {
    const start = Math.floor((level * kept) / levels);
    const end = Math.floor(((level + 1) * kept) / levels);
    let mass = 0;
    let occupied = 0;
    for (let bin = start; bin < end; bin++) {
      mass += counts[bin]!;
      if (counts[bin]! > 0) occupied++;
    }
    for (let bin = start; bin < end; bin++) if (counts[bin]! > 0) quantized[bin] = mass / occupied;
  }
  const referenceTotal = reference.reduce((sum, count) => sum + count, 0);
  const quantizedTotal = quantized.reduce((sum, count) => sum + count, 0);
  if (quantizedTotal === 0) return Number.POSITIVE_INFINITY;
  let divergence = 0;
  for (let bin = 0; bin < kept; bin++) {
    const p = reference[bin]! / referenceTotal;
    if (p === 0) continue;
    // The clipped mass lands in the last bin where q has none of it: smooth so the log stays finite.
    const q = Math.max(quantized[bin]! / quantizedTotal, 1e-12);
    divergence += p * Math.log(p / q);
  }
  return divergence;
}
