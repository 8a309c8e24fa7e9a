import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type RenditionInput, renditionListSchema } from '../../src/contracts/renditions.js';
import { renderRenditions } from '../../src/inference/render.js';
import { pixelsOf } from '../support/images.js';

// An 8×6 scene built by hand: background (40, 90, 160); a 4×3 subject (220, 60, 30) at (1, 2)
// whose mask is 255 except a hole (mask 0) at (2, 3) and a soft pixel (mask 128) at (4, 4).
const width = 8;
const height = 6;
const fg = [220, 60, 30] as const;
const box = { left: 1, top: 2, width: 4, height: 3 };
const mask = new Uint8Array(width * height);
const pixels = Buffer.alloc(width * height * 3);
for (let y = 0; y < height; y++) {
  for (let x = 0; x < width; x++) {
    const at = y * width + x;
    const inside = x >= box.left && x < box.left + 4 && y >= box.top && y < box.top + 3;
    pixels.set(inside ? fg : [40, 90, 160], at * 3);
    if (inside) mask[at] = x === 2 && y === 3 ? 0 : x === 4 && y === 4 ? 128 : 255;
  }
}
const image = { width, height, channels: 3 as const, pixels, format: 'png' as const };

async function renderOne(rendition: RenditionInput) {
  const [output] = (await renderRenditions(image, mask, renditionListSchema.parse([rendition]))).outputs;
  return { output: output!, ...(await pixelsOf(output!.bytes, rendition.kind === 'mask' ? 1 : undefined)) };
}

/** Independent arithmetic: the source pixel over an opaque colour, rounded (libvips flatten). */
function flattened(m: number, colour: readonly number[]): number[] {
  const a = m / 255;
  return fg.map((c, i) => Math.round(c * a + colour[i]! * (1 - a)));
}

/** The source pixel over a translucent colour (Porter-Duff over; libvips truncates). */
function over(m: number, colour: readonly number[], colourAlpha: number): number[] {
  const as = m / 255;
  const ab = colourAlpha / 255;
  const ao = as + ab * (1 - as);
  if (ao === 0) return [0, 0, 0, 0];
  const rgb = fg.map((c, i) => Math.trunc((c * as + colour[i]! * ab * (1 - as)) / ao));
  return [...rgb, Math.trunc(ao * 255)];
}

/** Expected canvas pixels: the source box placed at (left, top) on a canvas of `size`. */
function expectedCanvas(
  size: { width: number; height: number },
  at: { left: number; top: number },
  pixel: (m: number) => number[],
): number[] {
  const out: number[] = [];
  for (let y = 0; y < size.height; y++) {
    for (let x = 0; x < size.width; x++) {
      const sx = x - at.left + box.left;
      const sy = y - at.top + box.top;
      const inBox = sx >= box.left && sx < box.left + 4 && sy >= box.top && sy < box.top + 3;
      out.push(...pixel(inBox ? mask[sy * width + sx]! : 0));
    }
  }
  return out;
}

const grey = [245, 245, 245] as const;

describe('background rendition', () => {
  it('an opaque colour: the source frame, subject flattened on it', async () => {
    const { output, data, channels } = await renderOne({ kind: 'background', background: '#F5F5F5' });
    expect(output).toMatchObject({ width, height, contentType: 'image/png' });
    expect(channels).toBe(3);
    expect([...data]).toEqual([...mask].flatMap((m) => flattened(m, grey)));
  });

  it('a colour with alpha: RGBA, the subject composited over it', async () => {
    const { data, channels } = await renderOne({ kind: 'background', background: '#F5F5F580' });
    expect(channels).toBe(4);
    expect([...data]).toEqual([...mask].flatMap((m) => over(m, grey, 0x80)));
  });

  it('transparent: the cutout itself', async () => {
    const onNothing = await renderOne({ kind: 'background', background: 'transparent' });
    const cutout = await renderOne({ kind: 'cutout' });
    expect(onNothing.data).toEqual(cutout.data);
  });

  it('a fixed canvas: the subject box placed at its own pixels when it fills exactly `fill`', async () => {
    // 4×3 box, 16×16 canvas, fill 0.25: scale min(0.25·16/4, 0.25·16/3) = 1; centred at (6, 6).
    const canvas = { width: 16, height: 16, fill: 0.25 };
    const centred = await renderOne({ kind: 'background', background: '#F5F5F5', canvas });
    expect(centred.output).toMatchObject({ width: 16, height: 16 });
    expect([...centred.data]).toEqual(expectedCanvas(canvas, { left: 6, top: 6 }, (m) => flattened(m, grey)));
    // bottom: the margin below is floor((16 − round(0.25·16)) / 2) = 6, so top = 16 − 3 − 6 = 7.
    const standing = await renderOne({
      kind: 'background',
      background: '#F5F5F580',
      canvas: { ...canvas, position: 'bottom' },
    });
    expect([...standing.data]).toEqual(
      expectedCanvas(canvas, { left: 6, top: 7 }, (m) => over(m, grey, 0x80)),
    );
  });

  it('an aspect canvas: sized around the subject so it fills `fill` of it', async () => {
    // 2:1, fill 0.5: height ceil(max(3, 4/2) / 0.5) = 6, width 12; the box keeps its pixels at (4, 1).
    const { output, data } = await renderOne({
      kind: 'background',
      background: '#000000',
      canvas: { aspect: '2:1', fill: 0.5 },
    });
    expect(output).toMatchObject({ width: 12, height: 6 });
    expect([...data]).toEqual(
      expectedCanvas({ width: 12, height: 6 }, { left: 4, top: 1 }, (m) => flattened(m, [0, 0, 0])),
    );
  });

  it('white is the preset "#FFFFFF": the same bytes, flat and on a square canvas', async () => {
    const pairs: [RenditionInput, RenditionInput][] = [
      [
        { kind: 'white', format: 'png' },
        { kind: 'background', background: '#FFFFFF' },
      ],
      [
        { kind: 'white', format: 'png', square: true, fill: 0.5, minSide: 16 },
        { kind: 'background', background: '#FFFFFF', canvas: { aspect: '1:1', fill: 0.5, minSide: 16 } },
      ],
    ];
    for (const [preset, general] of pairs) {
      expect((await renderOne(preset)).output.bytes).toEqual((await renderOne(general)).output.bytes);
    }
  });

  it('an image background is cover-fitted under the subject', async () => {
    const backdrop = await sharp({ create: { width: 5, height: 5, channels: 3, background: [10, 200, 100] } })
      .raw()
      .toBuffer();
    const images = new Map([
      [
        's3://assets/floor.png',
        { width: 5, height: 5, channels: 3 as const, pixels: backdrop, format: 'png' as const },
      ],
    ]);
    const renditions = renditionListSchema.parse([
      {
        kind: 'background',
        background: 's3://assets/floor.png',
        canvas: { width: 16, height: 16, fill: 0.25 },
      },
    ]);
    const { outputs } = await renderRenditions(image, mask, renditions, undefined, images);
    const { data } = await pixelsOf(outputs[0]!.bytes);
    expect([...data]).toEqual(
      expectedCanvas({ width: 16, height: 16 }, { left: 6, top: 6 }, (m) =>
        over(m, [10, 200, 100], 255).slice(0, 3),
      ),
    );
  });
});
