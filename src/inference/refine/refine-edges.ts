// `refine: "edges"`: the model's alpha re-solved where it is unsure (alpha 8–247): from colour with
// only the sure pixels as input (colour-alpha.ts), then smoothed along the colour edge by the guided
// filter (guided-alpha.ts), except thin lines lifted on a plain backdrop (thin-structures.ts): the
// filter's windows would smooth a line a pixel wide away. Where the model is sure its alpha is kept
// byte for byte.
import type { DecodedImage } from '../../images/decode.js';
import { forEachTile, tilesNearEdges, unsureAbove, unsureArea, unsureBelow } from './band.js';
import { colourAlpha } from './colour-alpha.js';
import { filterRadius, guidedAlpha } from './guided-alpha.js';

/** A refined copy of `mask` (one byte per pixel of `image`). */
export function refineEdges(image: DecodedImage, mask: Uint8Array): Uint8Array {
  if (mask.length !== image.width * image.height) {
    throw new RangeError(`mask has ${mask.length} values for ${image.width * image.height} pixels`);
  }
  const area = unsureArea(mask, image.width, image.height);
  const lifted = new Uint8Array(mask.length);
  const alpha = colourAlpha(image, mask, area, lifted);
  // the filter's band: the pixels colour left unsure (all within the model's band, where alone
  // alpha changed), less the thin lines; the model's tiles cover them
  const { band, tiles } = area;
  forEachTile(
    tilesNearEdges(tiles, 0),
    tiles.columns,
    image.width,
    image.height,
    (left, top, right, bottom) => {
      for (let y = top; y < bottom; y++) {
        for (let i = y * image.width + left; i < y * image.width + right; i++) {
          if (band[i] && (alpha[i]! < unsureAbove || alpha[i]! > unsureBelow || lifted[i])) band[i] = 0;
        }
      }
    },
  );
  // Coefficients on blocks a whole filter radius wide (not a third): smoothing an alpha already
  // solved from colour needs no finer grid — the same scores, a third of the filter's time
  // (docs/inference.md).
  return guidedAlpha(image, alpha, { gridStep: filterRadius(image.width, image.height) }, area);
}
