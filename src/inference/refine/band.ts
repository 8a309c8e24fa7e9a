// The trimap's unknown band, from the model's soft mask: where the model is unsure (alpha strictly
// between `unsureBelow` and `unsureAbove`) and a strip around its 0.5 contour, `radius` px to each
// side, scaled to the image so that it covers the same share of a subject at any resolution.
import { boxMean } from './box-filter.js';

/** Mask values in [unsureAbove, unsureBelow] are the model hesitating: always in the band. */
export const unsureAbove = 8;
export const unsureBelow = 247;

/** Band radius in px: 1/200 of the longer side (10 px at 2000², 5 at 1024²), at least 2. */
export function bandRadius(width: number, height: number): number {
  return Math.max(2, Math.round(Math.max(width, height) / 200));
}

/**
 * 1 where a pixel is in the band, else 0: its (2·radius + 1)² square holds pixels on both sides of
 * the 0.5 contour (mask ≥ 128 and < 128), or the model is unsure of it.
 */
export function edgeBand(mask: Uint8Array, width: number, height: number, radius: number): Uint8Array {
  const inside = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) inside[i] = mask[i]! >= 128 ? 1 : 0;
  // A mean strictly between 0 and 1 is a square holding both sides (running sums of 0/1 are exact).
  const share = boxMean(inside, width, height, radius);
  const band = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    const value = mask[i]!;
    const mixed = share[i]! > 0 && share[i]! < 1;
    band[i] = mixed || (value >= unsureAbove && value <= unsureBelow) ? 1 : 0;
  }
  return band;
}

export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** The box around the band's pixels grown by `margin` on each side, within the image; null when empty. */
export function bandRegion(band: Uint8Array, width: number, height: number, margin: number): Region | null {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (!band[row + x]) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      bottom = y;
    }
  }
  if (right < 0) return null;
  left = Math.max(0, left - margin);
  top = Math.max(0, top - margin);
  right = Math.min(width - 1, right + margin);
  bottom = Math.min(height - 1, bottom + margin);
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}
