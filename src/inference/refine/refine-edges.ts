// `refine: "edges"`: the model's alpha re-solved where it is unsure (alpha 8–247): from colour with
// only the sure pixels as input (colour-alpha.ts), then smoothed along the colour edge by the guided
// filter (guided-alpha.ts). Where the model is sure its alpha is kept byte for byte.
import type { DecodedImage } from '../../images/decode.js';
import { colourAlpha } from './colour-alpha.js';
import { guidedAlpha } from './guided-alpha.js';

/** A refined copy of `mask` (one byte per pixel of `image`). */
export function refineEdges(image: DecodedImage, mask: Uint8Array): Uint8Array {
  if (mask.length !== image.width * image.height) {
    throw new RangeError(`mask has ${mask.length} values for ${image.width * image.height} pixels`);
  }
  return guidedAlpha(image, colourAlpha(image, mask));
}
