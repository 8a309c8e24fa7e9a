// Colour decontamination: the subject's own colour where alpha is partial, so a cutout put on a new
// background shows no halo of the old one. An observed edge pixel is I = αF + (1 − α)B; with local
// estimates F̂ and B̂ of the two colours, F = F̂ + α(I − αF̂ − (1 − α)B̂) explains the pixel's own
// colour (the blur-fusion estimate of Forte & Pitié, "Approximate Fast Foreground Colour
// Estimation", ICIP 2021). F̂ and B̂ are means of nearby sure pixels (opaque for F̂, transparent for
// B̂) in the smallest window that holds some (radius 3, 6, 12, … up to 1/20 of the longer side):
// a wide soft edge (motion blur, a veil) takes its colours from beyond the blend, not from it.
// Box filters only, on blocks of 1/500 of the longer side (4 px at 2000²; F̂ and B̂ are smooth),
// read back by bilinear interpolation at the partial pixels: no solver.
import type { DecodedImage } from '../../images/decode.js';
import { bandRegion } from './band.js';
import { atCorners, cornersAt, noCorners } from './grid.js';
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
  const longer = Math.max(width, height);
  const step = Math.max(1, Math.round(longer / 500));
  const radii = fusionRadii(width, height);
  const region = bandRegion(partial, width, height, radii.at(-1)! + step);
  if (!region) return;
  // Per block: the weights of "subject" and "background" (1 for opaque resp. transparent pixels,
  // a hundredth of alpha resp. 1 − alpha for partial ones) and their weighted colour sums.
  const columns = Math.ceil(region.width / step);
  const rows = Math.ceil(region.height / step);
  const count = columns * rows;
  const planes = Array.from({ length: 8 }, () => new Float32Array(count));
  const [frontWeight, backWeight] = planes as [Float32Array, Float32Array];
  const frontColour = planes.slice(2, 5);
  const backColour = planes.slice(5, 8);
  for (let y = region.top; y < region.top + region.height; y++) {
    const row = (((y - region.top) / step) | 0) * columns;
    for (let x = region.left; x < region.left + region.width; x++) {
      const cell = row + (((x - region.left) / step) | 0);
      const pixel = y * width + x;
      const k = alpha[pixel]! / 255;
      const front = k >= 1 ? 1 : k * partialShare;
      const back = k <= 0 ? 1 : (1 - k) * partialShare;
      frontWeight[cell] = frontWeight[cell]! + front;
      backWeight[cell] = backWeight[cell]! + back;
      for (let c = 0; c < 3; c++) {
        const value = pixels[pixel * channels + c]! / 255;
        frontColour[c]![cell] = frontColour[c]![cell]! + front * value;
        backColour[c]![cell] = backColour[c]![cell]! + back * value;
      }
    }
  }
  // sureMeans weighs colours by weight: hand it each block's weighted mean colour and its mean weight
  const area = step * step;
  for (let cell = 0; cell < count; cell++) {
    for (const [weight, colour] of [
      [frontWeight, frontColour],
      [backWeight, backColour],
    ] as const) {
      const total = weight[cell]!;
      for (let c = 0; c < 3; c++) colour[c]![cell] = total > 0 ? colour[c]![cell]! / total : 0;
      weight[cell] = total / area;
    }
  }
  const blockRadii = [...new Set(radii.map((radius) => Math.max(1, Math.round(radius / step))))];
  const means = (colour: Float32Array[], weight: Float32Array) =>
    sureMeans(colour, weight, columns, rows, blockRadii).means;
  const front = means(frontColour, frontWeight);
  const back = means(backColour, backWeight);
  const corners = noCorners();
  for (let y = region.top; y < region.top + region.height; y++) {
    for (let x = region.left; x < region.left + region.width; x++) {
      const pixel = y * width + x;
      if (!partial[pixel]) continue;
      cornersAt(columns, rows, step, region, x, y, corners);
      const k = alpha[pixel]! / 255;
      for (let c = 0; c < 3; c++) {
        const f = atCorners(front[c]!, corners);
        const observed = pixels[pixel * channels + c]! / 255;
        const value = f + k * (observed - k * f - (1 - k) * atCorners(back[c]!, corners));
        rgba[pixel * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, value)));
      }
    }
  }
}
