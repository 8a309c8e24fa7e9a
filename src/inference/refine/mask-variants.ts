// Which mask and colours a rendition is made from: the model's mask, refined at the edges
// (`refine: "edges"`), cleaned (`cleanup`), and the cutout's edge colours decontaminated
// (`decontaminate: true`). The refined mask is computed once per image, however many renditions ask;
// which renditions share a cutout is the contract's editOptionsKey.
import type { EditOptions } from '../../contracts/renditions.js';
import type { DecodedImage } from '../../images/decode.js';
import { cleanMask } from '../mask-cleanup.js';
import { refineEdges } from './refine-edges.js';

/** The mask for `options`: refined first (on the model's soft mask), then cleaned. */
export function maskVariants(image: DecodedImage, mask: Uint8Array): (options: EditOptions) => Uint8Array {
  let refined: Uint8Array | undefined;
  return ({ cleanup, refine }) => {
    if (refine === 'edges' && refined === undefined) refined = refineEdges(image, mask);
    const base = refine === 'edges' ? refined! : mask;
    return cleanup ? cleanMask(base, image.width, image.height, cleanup) : base;
  };
}
