import { describe, expect, it } from 'vitest';
import { normalizeForModel, resizeForModel } from '../../src/images/model-input.js';

const imagenet = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

// rembg: x / max(np.max(x), 1e-6), then (x - mean[c]) / std[c], planar (NCHW), float32.
// Expected numbers worked out by hand for this 2×2 image, whose brightest byte is 200 (not 255).
const image = new Uint8Array([100, 50, 0, /*   */ 200, 150, 24, 0, 0, 0, /*      */ 50, 200, 100]);
const expected = [
  // R: 100/200 → 0.5, 200/200 → 1, 0, 50/200 → 0.25; (v - 0.485) / 0.229
  0.015 / 0.229,
  0.515 / 0.229,
  -0.485 / 0.229,
  -0.235 / 0.229,
  // G: 0.25, 0.75, 0, 1; (v - 0.456) / 0.224
  -0.206 / 0.224,
  0.294 / 0.224,
  -0.456 / 0.224,
  0.544 / 0.224,
  // B: 0, 0.12, 0, 0.5; (v - 0.406) / 0.225
  -0.406 / 0.225,
  -0.286 / 0.225,
  -0.406 / 0.225,
  0.094 / 0.225,
];

describe('normalizeForModel (rembg normalize)', () => {
  it('divides by the image max, subtracts the mean, divides by the std, channel planes first', () => {
    const tensor = normalizeForModel(image, 2, imagenet);
    expect(tensor).toBeInstanceOf(Float32Array);
    expect(tensor).toHaveLength(12);
    expect(tensor[0]).toBeCloseTo(0.06550218, 6);
    expect(tensor[1]).toBeCloseTo(2.2489083, 6);
    expect(tensor[5]).toBeCloseTo(1.3125, 6);
    expect(tensor[11]).toBeCloseTo(0.41777778, 6);
    for (const [index, value] of expected.entries()) expect(tensor[index]).toBeCloseTo(value, 6);
  });

  it('gives the same tensor for the same image at half the brightness (the max, not 255, scales)', () => {
    const darker = image.map((value) => value / 2);
    expect(normalizeForModel(darker, 2, imagenet)).toEqual(normalizeForModel(image, 2, imagenet));
  });

  it('maps an all-black image to -mean/std (max guarded by 1e-6, no division by zero)', () => {
    const tensor = normalizeForModel(new Uint8Array(12), 2, imagenet);
    expect(tensor[0]).toBeCloseTo(-2.11790393, 6);
    expect(tensor[4]).toBeCloseTo(-2.03571429, 6);
    expect(tensor[8]).toBeCloseTo(-1.80444444, 6);
  });

  it("uses the model's own mean and std (isnet: std 1)", () => {
    const tensor = normalizeForModel(new Uint8Array([255, 255, 255]), 1, {
      mean: [0.485, 0.456, 0.406],
      std: [1, 1, 1],
    });
    expect([...tensor].map((value) => Number(value.toFixed(6)))).toEqual([0.515, 0.544, 0.594]);
  });

  it('refuses a buffer of the wrong size', () => {
    expect(() => normalizeForModel(new Uint8Array(11), 2, imagenet)).toThrow(RangeError);
  });
});

describe('resizeForModel (rembg convert("RGB").resize((S, S), LANCZOS))', () => {
  it('leaves an image already at the model size untouched', async () => {
    const pixels = Buffer.from(image);
    const resized = await resizeForModel({ width: 2, height: 2, channels: 3, pixels, format: 'png' }, 2);
    expect([...resized]).toEqual([...image]);
  });

  it('drops alpha without compositing: a transparent pixel keeps its colour', async () => {
    const rgba = Buffer.from([10, 20, 30, 0, 40, 50, 60, 255, 70, 80, 90, 128, 1, 2, 3, 0]);
    const resized = await resizeForModel(
      { width: 2, height: 2, channels: 4, pixels: rgba, format: 'png' },
      2,
    );
    expect([...resized]).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3]);
  });

  it('stretches to the square (no letterbox): every row keeps the left red and the right blue', async () => {
    const width = 16;
    const height = 4;
    const pixels = Buffer.alloc(width * height * 3);
    for (let pixel = 0; pixel < width * height; pixel++) {
      pixels.set(pixel % width < width / 2 ? [255, 0, 0] : [0, 0, 255], pixel * 3);
    }
    const size = 8;
    const resized = await resizeForModel({ width, height, channels: 3, pixels, format: 'png' }, size);
    expect(resized).toHaveLength(size * size * 3);
    for (let row = 0; row < size; row++) {
      const left = row * size * 3;
      const right = (row * size + size - 1) * 3;
      // Lanczos rings by a level or two next to the hard edge.
      expect(resized[left]).toBeGreaterThan(250);
      expect(resized[left + 2]).toBeLessThan(5);
      expect(resized[right]).toBeLessThan(5);
      expect(resized[right + 2]).toBeGreaterThan(250);
    }
  });
});
