import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { renderRenditions } from '../../src/inference/render.js';
import {
  blurred,
  reducedBlurAbove,
  type ShadowSpec,
  scaledShadow,
  shadowLayer,
  shadowShape,
} from '../../src/inference/shadows.js';
import { pixelsOf } from '../support/images.js';

const black = { r: 0, g: 0, b: 0, alpha: 255 };
const drop: ShadowSpec = { type: 'drop', offsetX: 0, offsetY: 0, blur: 0, opacity: 1, colour: black };

function rows(shape: Uint8Array, width: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < shape.length; at += width) {
    out.push(
      [...shape.subarray(at, at + width)].map((v) => (v === 255 ? '#' : v === 0 ? '.' : '+')).join(''),
    );
  }
  return out;
}

describe('shadowShape', () => {
  it("drop: the placed subject's alpha, shifted and clipped to the canvas", () => {
    const placed = { left: 1, top: 1, width: 3, height: 2 };
    const alpha = Uint8Array.from([255, 0, 255, 255, 100, 255]);
    const shape = shadowShape({ ...drop, offsetX: 2, offsetY: 1 }, { width: 5, height: 4 }, placed, alpha);
    expect(rows(shape, 5)).toEqual(['.....', '.....', '...#.', '...#+']);
  });

  it('contact: an ellipse as wide as the subject, centred on its bottom edge', () => {
    // rx 4, ry 1, centre (6, 5): rows 4 and 5 hold x with |x + 0.5 − 6| ≤ 4·√0.75, that is 3..8.
    const placed = { left: 2, top: 1, width: 8, height: 4 };
    const shape = shadowShape(
      { ...drop, type: 'contact' },
      { width: 12, height: 8 },
      placed,
      new Uint8Array(32),
    );
    expect(rows(shape, 12)).toEqual([
      '............',
      '............',
      '............',
      '............',
      '...######...',
      '...######...',
      '............',
      '............',
    ]);
  });

  it('blur spreads the shadow and keeps it symmetric; opacity scales its alpha', async () => {
    const placed = { left: 4, top: 4, width: 1, height: 1 };
    const layer = await shadowLayer(
      { ...drop, blur: 1, opacity: 0.5 },
      { width: 9, height: 9 },
      placed,
      Uint8Array.of(255),
    );
    const alpha = (x: number, y: number) => layer[(y * 9 + x) * 4 + 3]!;
    expect(alpha(4, 4)).toBeLessThan(128);
    expect(alpha(3, 4)).toBeGreaterThan(0);
    expect([alpha(3, 4), alpha(4, 3), alpha(4, 5)]).toEqual([alpha(5, 4), alpha(5, 4), alpha(5, 4)]);
    expect([...layer.subarray(0, 3)]).toEqual([0, 0, 0]);
  });
});

describe('a background rendition with a shadow', () => {
  it('draws the hard drop shadow between background and subject, pixel for pixel', async () => {
    // A 4×3 opaque subject with one half-transparent pixel, placed at its own pixels at (6, 6) of a
    // 16×16 canvas; the shadow (black, opacity 0.5) is shifted by (2, 1).
    const width = 4;
    const height = 3;
    const mask = new Uint8Array(12).fill(255);
    mask[5] = 128;
    const fg = [220, 60, 30];
    const image = {
      width,
      height,
      channels: 3 as const,
      pixels: Buffer.from(Array.from({ length: 12 }, () => fg).flat()),
      format: 'png' as const,
    };
    const renditions = renditionListSchema.parse([
      {
        kind: 'background',
        background: '#F5F5F5',
        canvas: { width: 16, height: 16, fill: 0.25 },
        shadow: { offsetX: 2, offsetY: 1, blur: 0, opacity: 0.5 },
      },
    ]);
    const { outputs } = await renderRenditions(image, mask, renditions);
    const { data, channels } = await pixelsOf(outputs[0]!.bytes);
    expect(channels).toBe(3);
    const maskAt = (x: number, y: number) =>
      x >= 0 && y >= 0 && x < width && y < height ? mask[y * width + x]! : 0;
    const expected: number[] = [];
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const s = Math.round(maskAt(x - 8, y - 7) * 0.5) / 255; // shadow alpha
        const a = maskAt(x - 6, y - 6) / 255; // subject alpha
        expected.push(...fg.map((c) => Math.trunc(c * a + 245 * (1 - s) * (1 - a))));
      }
    }
    expect([...data]).toEqual(expected);
  });
});

describe('shadows at several sizes', () => {
  it('scale offset and blur with the output', () => {
    const shadow = { ...drop, offsetX: 100, offsetY: -28, blur: 12 };
    expect(scaledShadow(shadow, 1)).toBe(shadow);
    expect(scaledShadow(shadow, 0.25)).toEqual({ ...drop, offsetX: 25, offsetY: -7, blur: 3 });
  });

  it('are the same share of the canvas at every size (offset in full-size canvas pixels)', async () => {
    // A 200×200 subject on a 1000² canvas filling half of it: placed at 250..749 at 1000 px and at
    // 62..186 at 250 px; the hard black shadow, offset 100 (25 at 250 px), shows right of it.
    const side = 400;
    const mask = new Uint8Array(side * side);
    for (let y = 100; y < 300; y++) mask.fill(255, y * side + 100, y * side + 300);
    const image = {
      width: side,
      height: side,
      channels: 3 as const,
      pixels: Buffer.alloc(side * side * 3, 200),
      format: 'png' as const,
    };
    const renditions = renditionListSchema.parse([
      {
        kind: 'background',
        canvas: { width: 1000, height: 1000, fill: 0.5 },
        shadow: { offsetX: 100, blur: 0, opacity: 1 },
        sizes: [1000, 250],
      },
    ]);
    const { outputs } = await renderRenditions(image, mask, renditions);
    const darkColumns = async (bytes: Buffer) => {
      const { data, width, channels } = await pixelsOf(bytes);
      const row = Math.floor(width / 2) * width;
      const dark: number[] = [];
      for (let x = 0; x < width; x++) if (data[(row + x) * channels]! === 0) dark.push(x);
      return [dark[0], dark.at(-1), dark.length];
    };
    expect(await darkColumns(outputs[0]!.bytes)).toEqual([750, 849, 100]);
    expect(await darkColumns(outputs[1]!.bytes)).toEqual([187, 211, 25]);
  });

  it('blur a large sigma at a reduced scale, within 5 levels (2 %) of the full-scale blur', async () => {
    const canvas = { width: 600, height: 400 };
    const shape = new Uint8Array(canvas.width * canvas.height);
    for (let y = 100; y < 300; y++) shape.fill(255, y * canvas.width + 150, y * canvas.width + 450);
    const fullScale = (sigma: number) =>
      sharp(shape, { raw: { ...canvas, channels: 1 } })
        .blur(sigma)
        .toColourspace('b-w')
        .raw()
        .toBuffer();
    // At or below the threshold: the full-scale blur itself.
    expect(await blurred(shape, canvas, reducedBlurAbove)).toEqual(await fullScale(reducedBlurAbove));
    for (const sigma of [40, 120]) {
      const [reduced, reference] = await Promise.all([blurred(shape, canvas, sigma), fullScale(sigma)]);
      expect(reduced.length).toBe(reference.length);
      let worst = 0;
      let mass = 0;
      let referenceMass = 0;
      for (let i = 0; i < reference.length; i++) {
        worst = Math.max(worst, Math.abs(reduced[i]! - reference[i]!));
        mass += reduced[i]!;
        referenceMass += reference[i]!;
      }
      expect(worst).toBeLessThanOrEqual(5);
      expect(Math.abs(mass / referenceMass - 1)).toBeLessThan(0.01);
    }
  });
});
