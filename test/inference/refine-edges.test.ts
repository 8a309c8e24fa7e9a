// Edge refinement and colour decontamination on synthetic scenes whose true alpha and colours are
// known: definite foreground and background stay as they are, the band follows the colour edge,
// and a two-colour edge gives back its foreground colour.
import { describe, expect, it } from 'vitest';
import type { DecodedImage } from '../../src/images/decode.js';
import { edgeBand } from '../../src/inference/refine/band.js';
import { decontaminateColours } from '../../src/inference/refine/decontaminate.js';
import { guidedAlpha } from '../../src/inference/refine/guided-alpha.js';
import { composeCutout } from '../../src/inference/render.js';
import { blended, type Rgb } from '../support/blended-image.js';

const red: Rgb = [200, 40, 40];
const blue: Rgb = [30, 160, 220];

/** 255 left of column `edge`, 0 from it on. */
function step(width: number, height: number, edge: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < edge; x++) mask[y * width + x] = 255;
  return mask;
}

describe('guidedAlpha', () => {
  const width = 64;
  const height = 16;
  const truth = step(width, height, 32);
  const image = blended(width, height, truth, red, blue);

  it('sharpens a soft model edge onto the colour edge, within the band only', () => {
    // The model blurred the edge over 6 px, centred where it is (between x = 31 and 32).
    const mask = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        mask[y * width + x] = Math.max(0, Math.min(255, Math.round((31.5 - x) * 42.5 + 127.5)));
      }
    }
    const band = edgeBand(mask, width, height, 3);
    const refined = guidedAlpha(image, mask, { bandRadius: 3, filterRadius: 3 });
    for (let i = 0; i < mask.length; i++) {
      if (!band[i]) expect(refined[i]).toBe(mask[i]);
    }
    const row = [...refined.subarray(8 * width + 26, 8 * width + 38)];
    expect(row).toEqual([255, 255, 255, 223, 211, 198, 57, 44, 32, 0, 0, 0]);
    // The steepest step is now at the colour edge, and the band as a whole is nearer the truth.
    let before = 0;
    let after = 0;
    for (let i = 0; i < mask.length; i++) {
      before += Math.abs(mask[i]! - truth[i]!);
      after += Math.abs(refined[i]! - truth[i]!);
    }
    expect(after).toBeLessThan(0.75 * before);
  });

  it('leaves a mask that already follows the colour edge as it is', () => {
    expect([...guidedAlpha(image, truth, { bandRadius: 3, epsilon: 1e-9 })]).toEqual([...truth]);
  });

  it('leaves a mask without an edge alone, and refuses a mask of another size', () => {
    const full = new Uint8Array(width * height).fill(255);
    expect([...guidedAlpha(image, full)]).toEqual([...full]);
    expect(() => guidedAlpha(image, new Uint8Array(10))).toThrow('mask has 10 values for 1024 pixels');
  });

  it('works on a four-channel source (colour from the first three)', () => {
    const rgba = Buffer.alloc(width * height * 4, 255);
    for (let i = 0; i < width * height; i++) image.pixels.copy(rgba, i * 4, i * 3, i * 3 + 3);
    const four: DecodedImage = { ...image, channels: 4, pixels: rgba };
    expect([...guidedAlpha(four, truth, { bandRadius: 3, epsilon: 1e-9 })]).toEqual([...truth]);
  });
});

describe('decontaminateColours', () => {
  /** A 12 px ramp from subject (x < end − 12) to background (x ≥ end). */
  const ramp = (width: number, height: number, end: number) => {
    const alpha = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++)
        alpha[y * width + x] = Math.max(0, Math.min(255, Math.round(((end - x) / 12) * 255)));
    }
    return alpha;
  };
  // red (x < 40) to blue (x ≥ 52): every ramp pixel is a red–blue blend
  const width = 240;
  const height = 24;
  const alpha = ramp(width, height, 52);
  const image = blended(width, height, alpha, red, blue);

  it('gives back the foreground colour at every partial pixel, within 5 levels', () => {
    const { rgba } = composeCutout(image, alpha);
    decontaminateColours(image, alpha, rgba);
    for (let i = 0; i < width * height; i++) {
      if (alpha[i] === 0 || alpha[i] === 255) continue;
      for (let c = 0; c < 3; c++) expect(Math.abs(rgba[i * 4 + c]! - red[c]!)).toBeLessThanOrEqual(5);
    }
  });

  it('works on blocks for large images, still within 5 levels (1200 px wide: 2 px blocks)', () => {
    const wide = 1200;
    const wideAlpha = ramp(wide, height, 552);
    const source = blended(wide, height, wideAlpha, red, blue);
    const { rgba } = composeCutout(source, wideAlpha);
    decontaminateColours(source, wideAlpha, rgba);
    let partial = 0;
    for (let i = 0; i < wide * height; i++) {
      if (wideAlpha[i] === 0 || wideAlpha[i] === 255) continue;
      partial++;
      for (let c = 0; c < 3; c++) expect(Math.abs(rgba[i * 4 + c]! - red[c]!)).toBeLessThanOrEqual(5);
    }
    expect(partial).toBe(11 * height);
  });

  it('leaves opaque and transparent pixels exactly as the cutout had them', () => {
    const { rgba } = composeCutout(image, alpha);
    const before = Buffer.from(rgba);
    decontaminateColours(image, alpha, rgba);
    for (let i = 0; i < width * height; i++) {
      if (alpha[i] !== 0 && alpha[i] !== 255) continue;
      expect([...rgba.subarray(i * 4, i * 4 + 4)]).toEqual([...before.subarray(i * 4, i * 4 + 4)]);
    }
  });

  it('without it the partial pixels carry the old background (the halo it removes)', () => {
    const { rgba } = composeCutout(image, alpha);
    const middle = 10 * width + 46; // alpha ≈ 0.5
    expect(Math.abs(rgba[middle * 4 + 2]! - red[2]!)).toBeGreaterThan(50);
  });
});
