// Alpha from colour with only the sure pixels as input, on scenes whose alpha is known in closed
// form: a two-colour soft edge the model got wrong across the whole band, a ring whose hole the
// model filled, a subject the colour of its backdrop (colour cannot tell: the model's alpha stays);
// and the plain-backdrop fit behind it.
import { describe, expect, it } from 'vitest';
import { edgeBand } from '../../src/inference/refine/band.js';
import { colourAlpha } from '../../src/inference/refine/colour-alpha.js';
import { plainBackground, plainRms, solveLinear } from '../../src/inference/refine/plain-background.js';
import { refineEdges } from '../../src/inference/refine/refine-edges.js';
import { sureMeans } from '../../src/inference/refine/sure-means.js';
import { blended, type Rgb } from '../support/blended-image.js';

const red: Rgb = [200, 40, 40];
const blue: Rgb = [30, 160, 220];
const grey: Rgb = [150, 150, 150];

function filled(width: number, height: number, value: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = value(x, y);
  return out;
}

describe('colourAlpha', () => {
  const width = 96;
  const height = 24;
  // the truth: subject up to x = 39, a 16 px linear ramp to the backdrop from x = 56 on
  const truth = filled(width, height, (x) => Math.max(0, Math.min(255, Math.round(((56 - x) / 16) * 255))));
  const image = blended(width, height, truth, red, blue);

  it('solves a soft two-colour edge from the sure pixels, whatever the model said in the band', () => {
    // the model is unsure (128) across x = 36–59 and sure elsewhere
    const mask = filled(width, height, (x) => (x < 36 ? 255 : x < 60 ? 128 : 0));
    const alpha = colourAlpha(image, mask);
    const band = edgeBand(mask, width, height, 0);
    for (let i = 0; i < mask.length; i++) {
      if (!band[i]) expect(alpha[i]).toBe(mask[i]);
      else expect(Math.abs(alpha[i]! - truth[i]!)).toBeLessThanOrEqual(1);
    }
    // one row, x = 38–58: the ramp given back (the plain model value 128 is gone)
    expect([...alpha.subarray(12 * width + 38, 12 * width + 59)]).toEqual([
      ...truth.subarray(12 * width + 38, 12 * width + 59),
    ]);
  });

  it('clears the hole of a ring the model filled: its colour is the backdrop behind', () => {
    const size = 64;
    const ring = filled(size, size, (x, y) => {
      const r = Math.hypot(x - 31.5, y - 31.5);
      return r >= 14 && r < 20 ? 255 : 0;
    });
    const scene = blended(size, size, ring, red, grey);
    // the model: the ring and its hole both unsure-subject (200), sure subject on the ring itself
    const mask = filled(size, size, (x, y) => {
      const r = Math.hypot(x - 31.5, y - 31.5);
      return r >= 15 && r < 19 ? 255 : r < 20 ? 200 : 0;
    });
    const alpha = colourAlpha(scene, mask);
    for (let i = 0; i < alpha.length; i++) expect(alpha[i]).toBe(ring[i]);
  });

  it('keeps the model where subject and backdrop share a colour', () => {
    const same = blended(width, height, truth, blue, blue);
    const mask = filled(width, height, (x) => (x < 36 ? 255 : x < 60 ? 128 : 0));
    expect([...colourAlpha(same, mask)]).toEqual([...mask]);
  });

  it('refineEdges keeps every sure pixel and refuses a mask of another size', () => {
    const mask = filled(width, height, (x) => (x < 36 ? 255 : x < 60 ? 128 : 0));
    const refined = refineEdges(image, mask);
    const band = edgeBand(mask, width, height, 0);
    let before = 0;
    let after = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!band[i]) expect(refined[i]).toBe(mask[i]);
      before += Math.abs(mask[i]! - truth[i]!);
      after += Math.abs(refined[i]! - truth[i]!);
    }
    expect(after).toBeLessThan(0.05 * before);
    expect(() => refineEdges(image, new Uint8Array(10))).toThrow('mask has 10 values for 2304 pixels');
  });

  it('keeps a light product on a light sweep whole: sure subject the colour of the backdrop stays 255', () => {
    // A white box (244) with a dark base on a 236 sweep, the model sure inside and unsure (200)
    // on the outline's two pixels: the sure white must not turn see-through near its edge.
    const size = 200;
    const box = filled(size, size, (x, y) => (x >= 50 && x < 150 && y >= 50 && y < 150 ? 255 : 0));
    const scene = blended(size, size, box, [244, 244, 244], [236, 236, 236]);
    for (let y = 120; y < 150; y++)
      for (let x = 50; x < 150; x++) scene.pixels.set([40, 40, 60], (y * size + x) * 3);
    const mask = filled(size, size, (x, y) => {
      if (!box[y * size + x]) return 0;
      return x < 52 || x >= 148 || y < 52 || y >= 148 ? 200 : 255;
    });
    const refined = refineEdges(scene, mask);
    for (let i = 0; i < mask.length; i++) if (mask[i] === 255) expect(refined[i]).toBe(255);
  });
});

describe('plainBackground', () => {
  const columns = 40;
  const rows = 30;
  /** A sweep: each channel a quadratic in the grid's u and v (−1 to 1). */
  const sweep = (c: number, x: number, y: number) => {
    const u = (2 * x) / columns - 1;
    const v = (2 * y) / rows - 1;
    return 0.6 + 0.05 * c + 0.1 * u - 0.08 * v + 0.05 * u * u - 0.03 * u * v + 0.04 * v * v;
  };
  const planes = (value: (c: number, x: number, y: number) => number) =>
    [0, 1, 2].map((c) =>
      Float32Array.from({ length: columns * rows }, (_, i) => value(c, i % columns, (i / columns) | 0)),
    );
  const everywhere = new Float32Array(columns * rows).fill(1);

  it('recovers a quadratic sweep, and ignores a stray dark patch on it (a shadow)', () => {
    const shadowed = planes((c, x, y) => sweep(c, x, y) - (x >= 10 && x < 16 && y >= 20 && y < 26 ? 0.3 : 0));
    const fit = plainBackground(shadowed, everywhere, columns, rows)!;
    expect(fit.rms).toBeLessThan(1e-6);
    for (let i = 0; i < columns * rows; i++) {
      for (let c = 0; c < 3; c++)
        expect(fit.colour[c]![i]).toBeCloseTo(sweep(c, i % columns, (i / columns) | 0), 5);
    }
  });

  it('fits only whole blocks of backdrop: a subject block does not pull the fit', () => {
    const withSubject = planes((c, x, y) => (x >= 30 ? 0.1 : sweep(c, x, y)));
    const weight = Float32Array.from({ length: columns * rows }, (_, i) => (i % columns >= 30 ? 0 : 1));
    const fit = plainBackground(withSubject, weight, columns, rows)!;
    expect(fit.colour[1]![5 * columns + 35]).toBeCloseTo(sweep(1, 35, 5), 5);
  });

  it('refuses a textured backdrop (a pattern of 0.5–0.66 does not fit within plainRms)', () => {
    const texture = planes((_, x, y) => 0.5 + (((x * 7 + y * 13) % 5) / 5) * 0.2);
    expect(plainRms).toBeLessThan(0.05);
    expect(plainBackground(texture, everywhere, columns, rows)).toBeNull();
  });

  it('refuses too few blocks of backdrop', () => {
    const weight = Float32Array.from({ length: columns * rows }, (_, i) => (i < 60 ? 1 : 0));
    expect(plainBackground(planes(sweep), weight, columns, rows)).toBeNull();
  });

  it('solveLinear solves a small system and says when it is singular', () => {
    expect(
      solveLinear(
        [
          [2, 1],
          [1, 3],
        ],
        [3, 5],
      )?.map((x) => Number(x.toFixed(12))),
    ).toEqual([0.8, 1.4]);
    expect(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
    ).toBeNull();
  });
});

describe('sureMeans', () => {
  it('takes the nearest sure pixels, and says where the widest window found none', () => {
    // 8 × 1: sure pixels at x = 0 (value 1) and x = 7 (value 3); radii 1 and 2
    const weight = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 1]);
    const value = Float32Array.from([1, 9, 9, 9, 9, 9, 9, 3]);
    const { means, found } = sureMeans([value], weight, 8, 1, [1, 2]);
    expect([...means[0]!].map((x) => Number(x.toFixed(4)))).toEqual([1, 1, 1, 0, 0, 3, 3, 3]);
    expect([...found]).toEqual([1, 1, 1, 0, 0, 1, 1, 1]);
  });
});
