import { describe, expect, it } from 'vitest';
import { upscaleMask } from '../../src/inference/mask-upscale.js';
import { resizeMask, sharpResizeMask } from '../../src/inference/postprocess.js';
import { seededRandom } from '../../src/seeded-random.js';

// The oracle is sharp itself: upscaleMask must give its bytes exactly, on masks with flats (0, 255
// and in between), soft and hard edges (Catmull-Rom rings past hard ones, clipped at 0 and 255),
// noise, and a checkerboard, which leaves no flat run at all.
function masks(size: number): Record<string, Uint8Array> {
  const at = (f: (x: number, y: number) => number) =>
    Uint8Array.from({ length: size * size }, (_, i) => f(i % size, Math.floor(i / size)));
  const random = seededRandom(7);
  return {
    empty: at(() => 0),
    'flat 254': at(() => 254),
    'soft ellipse': at((x, y) => {
      const d = (x / size - 0.5) ** 2 / 0.35 ** 2 + (y / size - 0.5) ** 2 / 0.4 ** 2;
      return Math.trunc(Math.min(1, Math.max(0, (1.05 - d) * 10)) * 255);
    }),
    'hard box': at((x, y) => (x > size / 3 && x < (2 * size) / 3 && y > size / 4 ? 255 : 0)),
    'flats of 0, 128 and 255': at((x) => (x < size / 3 ? 0 : x < (2 * size) / 3 ? 128 : 255)),
    noise: at(() => Math.floor(random() * 256)),
    checkerboard: at((x, y) => ((x + y) % 2 ? 255 : 0)),
  };
}

describe('upscaleMask (sharp’s Lanczos-3 enlargement, byte for byte)', () => {
  const sizes: [number, number, number][] = [
    [320, 2000, 2000],
    [320, 2000, 1333],
    [320, 1001, 3024],
    [320, 321, 322],
    [16, 17, 100],
  ];
  for (const [size, width, height] of sizes) {
    it(`${size}² → ${width}×${height}`, async () => {
      for (const [name, mask] of Object.entries(masks(size))) {
        const expected = await sharpResizeMask(mask, size, width, height);
        const actual = upscaleMask(mask, size, width, height);
        expect(actual.length, name).toBe(width * height);
        let differing = 0;
        for (let index = 0; index < actual.length; index++)
          if (actual[index] !== expected[index]) differing++;
        expect(differing, name).toBe(0);
      }
    });
  }

  it('rings past a hard edge as libvips does: 255 then 0, with the overshoot clipped', () => {
    // One row of 0 0 255 255, enlarged 4×: values fall from 255 to 0 across the edge, nowhere else.
    const mask = Uint8Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0 : 255));
    const row = [...upscaleMask(mask, 4, 16, 16).subarray(0, 16)];
    expect(row.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(row.slice(11)).toEqual([255, 255, 255, 255, 255]);
    for (let x = 1; x < 16; x++) expect(row[x]!).toBeGreaterThanOrEqual(row[x - 1]!);
  });

  it('refuses a side that does not grow (libvips reduces those instead)', () => {
    expect(() => upscaleMask(new Uint8Array(16), 4, 4, 8)).toThrow(RangeError);
    expect(() => upscaleMask(new Uint8Array(15), 4, 8, 8)).toThrow(RangeError);
  });

  it('resizeMask takes sharp for a side that shrinks, and gives its bytes', async () => {
    const { 'soft ellipse': mask } = masks(32);
    expect(await resizeMask(mask!, 32, 100, 20)).toEqual(await sharpResizeMask(mask!, 32, 100, 20));
    expect(await resizeMask(mask!, 32, 100, 40)).toEqual(
      new Uint8Array(await sharpResizeMask(mask!, 32, 100, 40)),
    );
  });
});
