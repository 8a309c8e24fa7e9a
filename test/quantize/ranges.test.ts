import { describe, expect, it } from 'vitest';
import { chooseRange, Histogram, klThresholdBins, uint8Params } from '../../src/quantize/ranges.js';

/** 99 990 values spread evenly over [0, 1) and 10 outliers at 1000: a Relu output with rare spikes. */
function spiky(): { values: Float32Array; histogram: Histogram } {
  const values = new Float32Array(100_000);
  for (let i = 0; i < 99_990; i++) values[i] = i / 99_990;
  values.fill(1000, 99_990);
  const histogram = new Histogram({ min: 0, max: 1000 });
  histogram.add(values);
  return { values, histogram };
}

describe('uint8Params', () => {
  it('maps a range starting at 0 to zero point 0, so a Relu can be dropped', () => {
    expect(uint8Params({ min: 0, max: 10 })).toEqual({ scale: 10 / 255, zeroPoint: 0 });
  });

  it('places zero exactly for a signed range', () => {
    const { scale, zeroPoint } = uint8Params({ min: -1, max: 3 });
    expect(scale).toBeCloseTo(4 / 255, 12);
    expect(zeroPoint).toBe(64);
  });

  it('gives a constant-zero tensor a usable scale', () => {
    expect(uint8Params({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });
});

describe('chooseRange', () => {
  const observed = { min: 0, max: 1000 };

  it('minmax keeps the outliers, so ordinary values get almost no levels', () => {
    expect(chooseRange(observed, undefined, true, { method: 'minmax', percentile: 99.99 })).toEqual(observed);
  });

  it('always includes zero, and starts a Relu output at zero', () => {
    expect(
      chooseRange({ min: 2, max: 5 }, undefined, false, { method: 'minmax', percentile: 99.99 }),
    ).toEqual({
      min: 0,
      max: 5,
    });
    expect(
      chooseRange({ min: -0.001, max: 5 }, undefined, true, { method: 'minmax', percentile: 99.99 }).min,
    ).toBe(0);
  });

  it('percentile clips the rare spikes', () => {
    const { histogram } = spiky();
    const range = chooseRange(observed, histogram, true, { method: 'percentile', percentile: 99.9 });
    expect(range.min).toBe(0);
    expect(range.max).toBeGreaterThan(0.5);
    expect(range.max).toBeLessThan(1.5);
  });

  it('entropy clips the rare spikes too, down to 256 of its 2048 bins at most', () => {
    const values = Float32Array.from({ length: 100_000 }, (_, i) => (i < 99_990 ? i / 99_990 : 20));
    const histogram = new Histogram({ min: 0, max: 20 });
    histogram.add(values);
    const range = chooseRange({ min: 0, max: 20 }, histogram, true, { method: 'entropy', percentile: 99.99 });
    expect(range.max).toBeLessThan(10);
    expect(range.max).toBeGreaterThanOrEqual((20 * 256) / 2048);
  });

  it('histogram methods need the histogram', () => {
    expect(() => chooseRange(observed, undefined, true, { method: 'percentile', percentile: 99.99 })).toThrow(
      /needs a histogram/,
    );
  });
});

describe('Histogram', () => {
  it('reads quantiles back, interpolating inside a bin', () => {
    const histogram = new Histogram({ min: 0, max: 1 });
    histogram.add(Float32Array.from({ length: 1000 }, (_, i) => i / 1000));
    expect(histogram.quantile(0.5)).toBeCloseTo(0.5, 2);
    expect(histogram.quantile(0.9)).toBeCloseTo(0.9, 2);
  });

  it('puts values outside its range into the end bins', () => {
    const histogram = new Histogram({ min: 0, max: 1 });
    histogram.add(Float32Array.of(-5, 5));
    expect(histogram.counts[0]).toBe(1);
    expect(histogram.counts.at(-1)).toBe(1);
  });
});

describe('klThresholdBins', () => {
  it('keeps every bin of an even distribution: clipping it only loses information', () => {
    expect(klThresholdBins(new Float64Array(2048).fill(1), 256)).toBe(2048);
  });
});
