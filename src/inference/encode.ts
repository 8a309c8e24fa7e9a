// Encoder settings, chosen by measurement on photo cutouts (bench/inference.ts prints the sweep;
// docs/inference.md has the numbers). PNG: sharp's default (zlib level 6, no row filters) leaves
// photos 15–50 % larger than adaptive row filtering; at level 3 that costs about the default's time
// and comes within ~7 % of level 6's size at half its time.
import type { Sharp } from 'sharp';
import type { ImageFormat } from '../contracts/renditions.js';

export const pngSettings = { compressionLevel: 3, adaptiveFiltering: true } as const;
/** Lossy WebP with lossless alpha; effort 2 costs a third of the default effort 4 for about the same bytes. */
export const webpSettings = { quality: 90, alphaQuality: 100, effort: 2 } as const;
/** Baseline libjpeg: mozjpeg's trellis search saves ~25 % at five times the time. */
export const jpegSettings = { quality: 90, mozjpeg: false } as const;

/** Applies the format's encoder with its chosen settings; `quality` overrides the lossy default. */
export function encodeAs(image: Sharp, format: ImageFormat, quality?: number): Sharp {
  switch (format) {
    case 'png':
      return image.png(pngSettings);
    case 'webp':
      return image.webp({ ...webpSettings, quality: quality ?? webpSettings.quality });
    case 'jpeg':
      return image.jpeg({ ...jpegSettings, quality: quality ?? jpegSettings.quality });
  }
}
