// A two-colour scene whose alpha is known exactly: the refinement tests' source images.
import type { DecodedImage } from '../../src/images/decode.js';

export type Rgb = readonly [number, number, number];

/** A width × height image of `foreground` blended over `background` by `alpha` (0–255), rounded. */
export function blended(
  width: number,
  height: number,
  alpha: Uint8Array,
  foreground: Rgb,
  background: Rgb,
): DecodedImage {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const a = alpha[i]! / 255;
    for (let c = 0; c < 3; c++) pixels[i * 3 + c] = Math.round(foreground[c]! * a + background[c]! * (1 - a));
  }
  return { width, height, channels: 3, pixels, format: 'png' };
}
