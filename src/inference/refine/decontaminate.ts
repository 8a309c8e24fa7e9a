// Colour decontamination: the subject's own colour where alpha is partial, so a cutout put on a new
// background shows no halo of the old one. An observed edge pixel is I = αF + (1 − α)B; with local
// estimates F̂ and B̂ of the two colours, F = F̂ + α(I − αF̂ − (1 − α)B̂) explains the pixel's own
// colour (the blur-fusion estimate of Forte & Pitié, "Approximate Fast Foreground Colour
// Estimation", ICIP 2021). F̂ and B̂ are means of nearby sure pixels (opaque for F̂, transparent for
// B̂) in the smallest window that holds some (radius 3, 6, 12, … up to 1/20 of the longer side):
// a wide soft edge (motion blur, a veil) takes its colours from beyond the blend, not from it.
// Box filters only: O(1) per pixel and scale, no solver.
import type { DecodedImage } from '../../images/decode.js';
import { bandRegion } from './band.js';
import { doublingRadii, sureMeans } from './sure-means.js';

/** Window radii tried in turn: from 3 doubling up to 1/20 of the longer side (96 at 2000 px). */
export function fusionRadii(width: number, height: number): number[] {
  return doublingRadii(3, Math.max(3, Math.round(Math.max(width, height) / 20)));
}

/** How much a partial pixel counts against a sure one (only where no sure pixel is in reach). */
const partialShare = 0.01;

/**
 * Replaces the colour of every pixel of `rgba` whose alpha is strictly between 0 and 255 by its
 * estimated foreground colour; opaque and transparent pixels are left alone. `rgba` is the cutout
 * of `image` (same size, interleaved RGBA) and `alpha` its alpha.
 */
export function decontaminateColours(image: DecodedImage, alpha: Uint8Array, rgba: Buffer): void {
  const { width, height, pixels, channels } = image;
  const partial = new Uint8Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) partial[i] = alpha[i]! > 0 && alpha[i]! < 255 ? 1 : 0;
  const radii = fusionRadii(width, height);
  const region = bandRegion(partial, width, height, radii.at(-1)! + 1);
  if (!region) return;
  const count = region.width * region.height;
  const observed = [new Float32Array(count), new Float32Array(count), new Float32Array(count)];
  const a = new Float32Array(count);
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const at = y * region.width + x;
      const pixel = (region.top + y) * width + region.left + x;
      for (let c = 0; c < 3; c++) observed[c]![at] = pixels[pixel * channels + c]! / 255;
      a[at] = alpha[pixel]! / 255;
    }
  }
  const means = (weight: Float32Array) => sureMeans(observed, weight, region.width, region.height, radii);
  const front = means(a.map((k) => (k >= 1 ? 1 : k * partialShare)));
  const back = means(a.map((k) => (k <= 0 ? 1 : (1 - k) * partialShare)));
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      const pixel = (region.top + y) * width + region.left + x;
      if (!partial[pixel]) continue;
      const at = y * region.width + x;
      const k = a[at]!;
      for (let c = 0; c < 3; c++) {
        const f = front[c]![at]!;
        const value = f + k * (observed[c]![at]! - k * f - (1 - k) * back[c]![at]!);
        rgba[pixel * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, value)));
      }
    }
  }
}
