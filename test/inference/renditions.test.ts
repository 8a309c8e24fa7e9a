import { describe, expect, it } from 'vitest';
import { type RenditionInput, renditionListSchema } from '../../src/contracts/renditions.js';
import { outputSize } from '../../src/inference/output-size.js';
import { renderRenditions } from '../../src/inference/render.js';
import { decoded, pixelsOf, rectangleScene } from '../support/images.js';

// A 300×200 scene: a 60×40 subject at (200, 120) with an exact ground-truth mask.
const scene = rectangleScene({
  width: 300,
  height: 200,
  subject: { left: 200, top: 120, width: 60, height: 40 },
  background: [40, 90, 160],
  foreground: [220, 60, 30],
});

async function render(...renditions: RenditionInput[]) {
  return renderRenditions(decoded(scene), scene.mask, renditionListSchema.parse(renditions));
}

/** The box of pixels that are not white (any channel below `below`). */
function nonWhiteBox(data: Buffer, width: number, height: number, channels: number, below = 250) {
  let left = width;
  let top = height;
  let right = -1;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * channels;
      if (data[at]! < below || data[at + 1]! < below || data[at + 2]! < below) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
    }
  }
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

describe('renderRenditions', () => {
  it('finds the subject box from the mask', async () => {
    const { subject } = await render({ kind: 'mask' });
    expect(subject).toEqual(scene.subject);
  });

  it('cutout: RGBA at the source size, alpha = mask, colour kept on the subject and cleared off it', async () => {
    const [cutout] = (await render({ kind: 'cutout' })).outputs;
    expect(cutout).toMatchObject({ contentType: 'image/png', width: 300, height: 200 });
    const { data, channels } = await pixelsOf(cutout!.bytes);
    expect(channels).toBe(4);
    for (let pixel = 0; pixel < 300 * 200; pixel++) {
      const rgba = [...data.subarray(pixel * 4, pixel * 4 + 4)];
      expect(rgba).toEqual(scene.mask[pixel] ? [220, 60, 30, 255] : [0, 0, 0, 0]);
    }
  });

  it('mask: one 8-bit gray channel equal to the mask', async () => {
    const [mask] = (await render({ kind: 'mask' })).outputs;
    expect(mask).toMatchObject({ contentType: 'image/png', width: 300, height: 200 });
    const { data, channels } = await pixelsOf(mask!.bytes, 1);
    expect(channels).toBe(1);
    expect(Buffer.from(scene.mask).equals(data)).toBe(true);
  });

  it('white (PNG): exactly 255 wherever alpha is 0, the subject untouched, source size', async () => {
    const [white] = (await render({ kind: 'white', format: 'png' })).outputs;
    expect(white).toMatchObject({ width: 300, height: 200 });
    const { data, channels } = await pixelsOf(white!.bytes);
    expect(channels).toBe(3);
    for (let pixel = 0; pixel < 300 * 200; pixel++) {
      expect([...data.subarray(pixel * 3, pixel * 3 + 3)]).toEqual(
        scene.mask[pixel] ? [220, 60, 30] : [255, 255, 255],
      );
    }
  });

  it('white (JPEG, default): pure 255 away from the subject edge', async () => {
    const [white] = (await render({ kind: 'white' })).outputs;
    expect(white).toMatchObject({ contentType: 'image/jpeg', width: 300, height: 200 });
    const { data } = await pixelsOf(white!.bytes);
    // JPEG's 8×8 blocks: stay two blocks clear of the subject.
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 300; x++) {
        if (x >= 184 && x < 276 && y >= 104) continue;
        const at = (y * 300 + x) * 3;
        expect([data[at], data[at + 1], data[at + 2]]).toEqual([255, 255, 255]);
      }
    }
  });

  it('white square: a square canvas with the subject centred, filling the asked share', async () => {
    const [white] = (await render({ kind: 'white', format: 'png', square: true, fill: 0.5, minSide: 100 }))
      .outputs;
    expect(white).toMatchObject({ width: 120, height: 120 }); // 60 / 0.5
    const { data, channels } = await pixelsOf(white!.bytes);
    expect(channels).toBe(3);
    expect(nonWhiteBox(data, 120, 120, 3)).toEqual({ left: 30, top: 40, width: 60, height: 40 });
  });

  it('white square (defaults): at least 1600 px, subject enlarged to 85 % of the side', async () => {
    const [white] = (await render({ kind: 'white', square: true })).outputs;
    expect(white).toMatchObject({ width: 1600, height: 1600 });
    const { data } = await pixelsOf(white!.bytes);
    const box = nonWhiteBox(data, 1600, 1600, 3, 200);
    expect(Math.abs(box.width - 1360)).toBeLessThanOrEqual(2);
    expect(Math.abs(box.height - 907)).toBeLessThanOrEqual(2);
    expect(Math.abs(box.left - (1600 - box.width) / 2)).toBeLessThanOrEqual(2);
    expect(Math.abs(box.top - (1600 - box.height) / 2)).toBeLessThanOrEqual(2);
  });

  it('crop: the subject box plus the margin, as RGBA', async () => {
    const [crop] = (await render({ kind: 'crop', margin: 10 })).outputs;
    expect(crop).toMatchObject({ width: 80, height: 60 });
    const { data } = await pixelsOf(crop!.bytes);
    const alphaAt = (x: number, y: number) => data[(y * 80 + x) * 4 + 3];
    expect(alphaAt(9, 9)).toBe(0);
    expect(alphaAt(10, 10)).toBe(255);
    expect(alphaAt(69, 49)).toBe(255);
    expect(alphaAt(70, 50)).toBe(0);
  });

  it('crop: a percentage margin, clamped at the image border', async () => {
    const [crop] = (await render({ kind: 'crop', margin: '90%' })).outputs;
    // 90 % of 60 = 54 px: left 146, top 66; right (314) and bottom (214) clamped to 300 × 200.
    expect(crop).toMatchObject({ width: 154, height: 134 });
  });

  it('maxSize scales an output down, keeping the aspect ratio', async () => {
    const [cutout, mask] = (await render({ kind: 'cutout', maxSize: 150 }, { kind: 'mask', maxSize: 60 }))
      .outputs;
    expect(cutout).toMatchObject({ width: 150, height: 100 });
    expect(mask).toMatchObject({ width: 60, height: 40 });
  });

  it("multiplies in the source's own alpha: transparent stays transparent", async () => {
    const rgba = Buffer.alloc(4 * 4 * 4, 255);
    rgba[3] = 0; // pixel 0: transparent in the source
    rgba[7] = 128; // pixel 1: half transparent
    const mask = new Uint8Array(16).fill(255);
    const image = { width: 4, height: 4, channels: 4 as const, pixels: rgba, format: 'png' as const };
    const [cutout] = (await renderRenditions(image, mask, renditionListSchema.parse([{ kind: 'cutout' }])))
      .outputs;
    const { data } = await pixelsOf(cutout!.bytes);
    expect([data[3], data[7], data[11]]).toEqual([0, 128, 255]);
  });

  it('uses the whole frame when the mask is empty', async () => {
    const image = decoded(scene);
    const result = await renderRenditions(
      image,
      new Uint8Array(300 * 200),
      renditionListSchema.parse([{ kind: 'crop', margin: 5 }]),
    );
    expect(result.subject).toBeNull();
    expect(result.outputs[0]).toMatchObject({ width: 300, height: 200 });
  });

  it('refuses outputs over the limits before rendering any, as output_too_large', async () => {
    const renditions = renditionListSchema.parse([{ kind: 'cutout' }, { kind: 'white', square: true }]);
    const limits = { maxOutputPixels: 1600 * 1600 - 1, maxTaskOutputPixels: 10_000_000 };
    await expect(renderRenditions(decoded(scene), scene.mask, renditions, limits)).rejects.toMatchObject({
      code: 'output_too_large',
      message: expect.stringMatching(/^renditions\[1\] \(white\) would be 1600×1600 = 2560000 pixels/),
    });
  });

  it('predicts the size of every output it renders', async () => {
    const asked: RenditionInput[] = [
      { kind: 'cutout', maxSize: 150 },
      { kind: 'mask' },
      { kind: 'white', square: true, fill: 0.5, minSide: 16 },
      { kind: 'white', format: 'png', maxSize: 100 },
      { kind: 'crop', margin: '90%' },
    ];
    const renditions = renditionListSchema.parse(asked);
    const { outputs, subject } = await renderRenditions(decoded(scene), scene.mask, renditions);
    expect(outputs.map(({ width, height }) => ({ width, height }))).toEqual(
      renditions.map((rendition) => outputSize(rendition, scene, subject)),
    );
  });

  it('sizes: one output per size from the one mask, each as if that size were its maxSize', async () => {
    const { outputs } = await render({ kind: 'mask' }, { kind: 'cutout', sizes: [150, 60, 1000] });
    expect(
      outputs.map(({ rendition, size, width, height }) => [rendition.kind, size, width, height]),
    ).toEqual([
      ['mask', undefined, 300, 200],
      ['cutout', 150, 150, 100],
      ['cutout', 60, 60, 40],
      ['cutout', 1000, 300, 200], // never enlarged
    ]);
    const [single] = (await render({ kind: 'cutout', maxSize: 60 })).outputs;
    expect((await pixelsOf(outputs[2]!.bytes)).data).toEqual((await pixelsOf(single!.bytes)).data);
  });

  it('WebP outputs say so', async () => {
    const [cutout] = (await render({ kind: 'cutout', format: 'webp', quality: 80 })).outputs;
    expect(cutout).toMatchObject({ contentType: 'image/webp', width: 300, height: 200 });
    expect(cutout!.bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
  });
});

describe('renditionListSchema', () => {
  it('refuses two renditions that would write the same output', () => {
    const result = renditionListSchema.safeParse([{ kind: 'cutout' }, { kind: 'cutout', format: 'png' }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('would write the same output');
  });

  it('allows the same kind in two formats', () => {
    expect(
      renditionListSchema.safeParse([{ kind: 'cutout' }, { kind: 'cutout', format: 'webp' }]).success,
    ).toBe(true);
  });
});
