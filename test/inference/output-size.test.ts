import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type RenditionInput, renditionListSchema, renditionSchema } from '../../src/contracts/renditions.js';
import type { Engine } from '../../src/inference/engine.js';
import { checkOutputSizes, outputSize } from '../../src/inference/output-size.js';
import { removeBackground } from '../../src/inference/remove.js';

const image = { width: 300, height: 200 };
const subject = { left: 200, top: 120, width: 60, height: 40 };
const sizeOf = (rendition: RenditionInput, box: typeof subject | null = subject) =>
  outputSize(renditionSchema.parse(rendition), image, box);

describe('outputSize', () => {
  it('is the source size for cutout, mask and flat white, scaled down to maxSize', () => {
    expect(sizeOf({ kind: 'cutout' })).toEqual({ width: 300, height: 200 });
    expect(sizeOf({ kind: 'mask', maxSize: 150 })).toEqual({ width: 150, height: 100 });
    expect(sizeOf({ kind: 'white', maxSize: 1000 })).toEqual({ width: 300, height: 200 });
  });

  it('is the square side for square white: the subject over fill, at least minSide, at most maxSize', () => {
    // ceil(60 / 0.5) = 120 ≥ minSide 16
    expect(sizeOf({ kind: 'white', square: true, fill: 0.5, minSide: 16 })).toEqual({
      width: 120,
      height: 120,
    });
    expect(sizeOf({ kind: 'white', square: true })).toEqual({ width: 1600, height: 1600 });
    expect(sizeOf({ kind: 'white', square: true, maxSize: 500 })).toEqual({ width: 500, height: 500 });
    // No subject: the whole frame is placed, ceil(300 / 0.1) = 3000.
    expect(sizeOf({ kind: 'white', square: true, fill: 0.1, minSide: 16 }, null)).toEqual({
      width: 3000,
      height: 3000,
    });
  });

  it('is the subject box plus the margin, clamped to the image, for crop', () => {
    expect(sizeOf({ kind: 'crop', margin: 10 })).toEqual({ width: 80, height: 60 });
    // 100 px on every side: left 100, top 20; right (360) and bottom (260) clamped to 300 × 200.
    expect(sizeOf({ kind: 'crop', margin: 100 })).toEqual({ width: 200, height: 180 });
  });
});

describe('checkOutputSizes', () => {
  const limits = { maxOutputPixels: 10_000, maxTaskOutputPixels: 15_000 };
  const planned = (sizes: [number, number][]) =>
    sizes.map(([width, height], index) => ({ index, kind: 'white' as const, size: { width, height } }));

  it('allows outputs at the caps', () => {
    expect(() =>
      checkOutputSizes(
        planned([
          [100, 100],
          [50, 100],
        ]),
        limits,
      ),
    ).not.toThrow();
  });

  it('refuses one output over the per-output cap, naming it', () => {
    expect(() =>
      checkOutputSizes(
        planned([
          [10, 10],
          [101, 100],
        ]),
        limits,
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'output_too_large',
        message:
          'renditions[1] (white) would be 101×100 = 10100 pixels, more than the 10000 allowed per output (CLEARCUT_MAX_OUTPUT_PIXELS)',
      }),
    );
  });

  it('refuses outputs whose total is over the per-image cap', () => {
    expect(() =>
      checkOutputSizes(
        planned([
          [100, 100],
          [100, 51],
        ]),
        limits,
      ),
    ).toThrow(
      expect.objectContaining({
        code: 'output_too_large',
        message:
          'the renditions would be 15100 pixels together, more than the 15000 allowed per image (CLEARCUT_MAX_TASK_OUTPUT_PIXELS)',
      }),
    );
  });
});

describe('removeBackground and the output caps', () => {
  it('refuses outputs the options alone make too large before the model runs', async () => {
    let predictions = 0;
    const engine = {
      predictMask: async (image: { width: number; height: number }) => {
        predictions++;
        return new Uint8Array(image.width * image.height).fill(255);
      },
    } as unknown as Engine;
    const source = await sharp({ create: { width: 16, height: 16, channels: 3, background: [9, 9, 9] } })
      .png()
      .toBuffer();
    const limits = {
      maxInputBytes: 1_000_000,
      maxInputPixels: 1_000_000,
      decodeTimeoutMs: 10_000,
      maxOutputPixels: 1_000_000,
      maxTaskOutputPixels: 1_000_000,
    };
    const bomb = renditionListSchema.parse([{ kind: 'white', square: true, fill: 0.1, minSide: 1001 }]);
    await expect(removeBackground(engine, source, bomb, limits)).rejects.toMatchObject({
      code: 'output_too_large',
      message:
        'renditions[0] (white) would be at least 1001×1001 = 1002001 pixels, more than the 1000000 allowed per output (CLEARCUT_MAX_OUTPUT_PIXELS)',
    });
    expect(predictions).toBe(0);
    // Within the caps the model runs once for every output.
    const fine = renditionListSchema.parse([
      { kind: 'white', square: true, fill: 0.5, minSide: 16, sizes: [64, 32] },
    ]);
    const result = await removeBackground(engine, source, fine, limits);
    expect(result.outputs.map(({ width }) => width)).toEqual([32, 32]);
    expect(predictions).toBe(1);
  });
});
