// Encoder settings, chosen by measurement on photo cutouts (bench/inference.ts prints the sweep;
// docs/inference.md has the numbers). PNG: a named effort (png-encoding.ts, CLEARCUT_PNG_EFFORT).
import sharp, { type Sharp } from 'sharp';
import type { ImageFormat } from '../contracts/renditions.js';
import { defaultPngEffort, encodePng, type PngEffort, pngSettings, type RawImage } from './png-encoding.js';

/** Lossy WebP with lossless alpha; effort 2 costs a third of the default effort 4 for about the same bytes. */
export const webpSettings = { quality: 90, alphaQuality: 100, effort: 2 } as const;
/** Baseline libjpeg: mozjpeg's trellis search saves ~25 % at five times the time. */
export const jpegSettings = { quality: 90, mozjpeg: false } as const;

export interface Encoded {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

/** Pixels as they are, for a rendition that needs no resize or crop. */
const isRaw = (image: Sharp | RawImage): image is RawImage => 'pixels' in image;

/** Raw pixels as a sharp pipeline; one channel stays gray (sharp would otherwise widen it to RGB on output). */
export function pipelineOf({ width, height, channels, pixels }: RawImage): Sharp {
  const pipeline = sharp(pixels, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  return channels === 1 ? pipeline.toColourspace('b-w') : pipeline;
}

/**
 * Runs `image` through the format's encoder with its chosen settings; `quality` overrides the lossy
 * default. Raw pixels go to our own PNG encoder as they are, with no libvips copy of them.
 */
export async function encodeAs(
  image: Sharp | RawImage,
  format: ImageFormat,
  quality?: number,
  pngEffort: PngEffort = defaultPngEffort,
): Promise<Encoded> {
  if (format === 'png' && pngSettings(pngEffort) === undefined) {
    if (isRaw(image)) return { data: await encodePng(image), width: image.width, height: image.height };
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    return { data: await encodePng({ width, height, channels, pixels: data }), width, height };
  }
  const pipeline = isRaw(image) ? pipelineOf(image) : image;
  const { data, info } = await encoderOf(pipeline, format, quality, pngEffort).toBuffer({
    resolveWithObject: true,
  });
  return { data, width: info.width, height: info.height };
}

function encoderOf(
  image: Sharp,
  format: ImageFormat,
  quality: number | undefined,
  pngEffort: PngEffort,
): Sharp {
  switch (format) {
    case 'png':
      return image.png(pngSettings(pngEffort));
    case 'webp':
      return image.webp({ ...webpSettings, quality: quality ?? webpSettings.quality });
    case 'jpeg':
      return image.jpeg({ ...jpegSettings, quality: quality ?? jpegSettings.quality });
  }
}
