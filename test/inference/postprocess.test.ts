import { describe, expect, it } from 'vitest';
import { predictionToMask, resizeMask } from '../../src/inference/postprocess.js';

// rembg: (pred - min) / (max - min), clip(0, 1), × 255, astype(uint8) — which truncates.
describe('predictionToMask (rembg post-processing)', () => {
  it('min-max normalises and truncates to 8 bits (63 and 127, not 64 and 128)', () => {
    expect([...predictionToMask(new Float32Array([0.2, 0.4, 0.6, 1.0]), 2)]).toEqual([0, 63, 127, 255]);
  });

  it('stretches any range, logits included, to the full 0–255', () => {
    expect([...predictionToMask(new Float32Array([-3, -1, 1, 5]), 2)]).toEqual([0, 63, 127, 255]);
    expect([...predictionToMask(new Float32Array([0.5, 0.5001, 0.5002, 0.5004]), 2)]).toEqual([
      0, 63, 127, 255,
    ]);
  });

  it('reads only the first channel of the output', () => {
    const twoChannels = new Float32Array([0, 1, 2, 4, /* second channel */ -100, 100, 1000, 5]);
    expect([...predictionToMask(twoChannels, 2)]).toEqual([0, 63, 127, 255]);
  });

  it('gives an empty mask for a constant prediction (rembg would divide 0 by 0)', () => {
    expect([...predictionToMask(new Float32Array([0.7, 0.7, 0.7, 0.7]), 2)]).toEqual([0, 0, 0, 0]);
  });

  it('keeps soft values: no threshold', () => {
    const mask = predictionToMask(new Float32Array([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1]), 3);
    expect(new Set(mask).size).toBe(9);
  });
});

describe('resizeMask (back to the source size with Lanczos)', () => {
  it('returns the mask itself when the size already matches', async () => {
    const mask = new Uint8Array([0, 63, 127, 255]);
    expect(await resizeMask(mask, 2, 2, 2)).toBe(mask);
  });

  it('gives one byte per source pixel, any aspect ratio', async () => {
    const resized = await resizeMask(new Uint8Array(16).fill(255), 4, 7, 3);
    expect(resized).toHaveLength(21);
    expect([...resized].every((value) => value === 255)).toBe(true);
  });

  it('keeps a left-to-right edge where it was', async () => {
    const mask = new Uint8Array(64);
    for (let index = 0; index < 64; index++) mask[index] = index % 8 < 4 ? 255 : 0;
    const width = 20;
    const resized = await resizeMask(mask, 8, width, 6);
    for (let row = 0; row < 6; row++) {
      expect(resized[row * width]).toBe(255);
      expect(resized[row * width + width - 1]).toBe(0);
      expect(resized[row * width + 4]).toBeGreaterThan(200);
      expect(resized[row * width + 15]).toBeLessThan(55);
    }
  });
});
