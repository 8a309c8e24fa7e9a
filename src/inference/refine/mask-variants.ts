// Which mask and colours a rendition is made from: the model's mask, refined at the edges
// (`refine: "edges"`), cleaned (`cleanup`), and the cutout's edge colours decontaminated
// (`decontaminate: true`). The refined mask is computed once per image, however many renditions ask.
import type { Rendition } from '../../contracts/renditions.js';
import type { DecodedImage } from '../../images/decode.js';
import { cleanMask, type MaskCleanup } from '../mask-cleanup.js';
import { refineEdges } from './guided-alpha.js';

export interface EdgeOptions {
  readonly cleanup?: MaskCleanup | undefined;
  readonly refine?: 'edges' | undefined;
  readonly decontaminate?: boolean | undefined;
}

/** The options of `rendition` that change its mask or its cutout's colours. */
export function edgeOptionsOf(rendition: Rendition): EdgeOptions {
  return {
    cleanup: rendition.cleanup,
    refine: rendition.refine,
    decontaminate: rendition.kind === 'mask' ? undefined : rendition.decontaminate,
  };
}

/** Equal for options that give the same cutout (the cache key of a composition). */
export function edgeOptionsKey({ cleanup, refine, decontaminate }: EdgeOptions): string {
  return JSON.stringify([cleanup ?? null, refine ?? null, decontaminate === true]);
}

/** The mask for `options`: refined first (on the model's soft mask), then cleaned. */
export function maskVariants(image: DecodedImage, mask: Uint8Array): (options: EdgeOptions) => Uint8Array {
  let refined: Uint8Array | undefined;
  return ({ cleanup, refine }) => {
    if (refine === 'edges' && refined === undefined) refined = refineEdges(image, mask);
    const base = refine === 'edges' ? refined! : mask;
    return cleanup ? cleanMask(base, image.width, image.height, cleanup) : base;
  };
}
