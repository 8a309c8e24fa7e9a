import sharp, { type Metadata } from 'sharp';
import { PermanentError } from '../errors.js';
import { byteCount, megapixels, refuseImage } from './refusal.js';
import { isAnimatedPng, type SupportedFormat, sniffImage } from './sniff.js';

export interface ImageLimits {
  /** Largest input accepted, in bytes. */
  readonly maxInputBytes: number;
  /** Largest decoded image accepted, width × height (decompression bombs). */
  readonly maxInputPixels: number;
  readonly decodeTimeoutMs: number;
}

/** A source image as the rest of the pipeline sees it: upright, sRGB, 8 bits per channel. */
export interface DecodedImage {
  /** After the EXIF orientation is applied: what a viewer shows. */
  readonly width: number;
  readonly height: number;
  /** 3 (RGB) or 4 (RGB + the source's own alpha), interleaved. */
  readonly channels: 3 | 4;
  readonly pixels: Buffer;
  /** The format sniffed from the bytes, not the name. */
  readonly format: SupportedFormat;
}

const formatNames: Record<SupportedFormat, string> = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP' };

// Fail on errors and truncation; tolerate decoder warnings (stray bytes after the end marker and
// the like), which every browser shows without complaint.
const failOn = 'error';

interface Size {
  readonly width: number;
  readonly height: number;
}

/** An untrusted image's header, checked (bytes, format, dimensions, frames); its size upright. */
export interface ImageHeader extends Size {
  readonly format: SupportedFormat;
}

/** The checks decodeImage makes before decoding, and the image's upright size; the same refusals. */
export async function readImageHeader(input: Buffer, limits: ImageLimits): Promise<ImageHeader> {
  const format = checkBytes(input, limits);
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { failOn, limitInputPixels: false }).metadata();
  } catch (error) {
    throw corrupt(formatNames[format], error);
  }
  checkHeader(input, format, metadata, limits);
  // EXIF orientations 5–8 turn the image a quarter: width and height swap.
  const turned = (metadata.orientation ?? 1) >= 5;
  const { width, height } = metadata as Required<Pick<Metadata, 'width' | 'height'>>;
  return { format, width: turned ? height : width, height: turned ? width : height };
}

/**
 * Validates and decodes one untrusted image. Refusals are PermanentErrors with a stable code
 * (see refusal.ts) and a message the sender can act on. With `cover`, the image is decoded no
 * larger than it takes to cover each of those sizes (shrunk on load, never enlarged).
 */
export async function decodeImage(
  input: Buffer,
  limits: ImageLimits,
  cover: readonly Size[] = [],
): Promise<DecodedImage> {
  const header = await readImageHeader(input, limits);
  const { format } = header;
  const name = formatNames[format];
  const scale = Math.max(
    0,
    ...cover.map((to) => Math.max(to.width / header.width, to.height / header.height)),
  );
  return withDeadline(limits.decodeTimeoutMs, name, async (seconds) => {
    try {
      let pipeline = sharp(input, {
        failOn,
        limitInputPixels: limits.maxInputPixels,
        autoOrient: true,
      });
      if (cover.length > 0 && scale < 1) {
        const width = Math.max(1, Math.ceil(header.width * scale));
        const height = Math.max(1, Math.ceil(header.height * scale));
        pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
      }
      const { data, info } = await pipeline
        .timeout({ seconds })
        .toColourspace('srgb')
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3 && info.channels !== 4) {
        throw new Error(`decoder returned ${info.channels} channels where 3 or 4 were expected`);
      }
      return { width: info.width, height: info.height, channels: info.channels, pixels: data, format };
    } catch (error) {
      throw corrupt(name, error);
    }
  });
}

/** Refuses an input of `size` bytes before it is read, when the size alone rules it out. */
export function checkInputSize(size: number, limits: Pick<ImageLimits, 'maxInputBytes'>): void {
  if (size === 0) throw refuseImage('empty_file', 'The file is empty (0 bytes); send the image itself.');
  if (size > limits.maxInputBytes) {
    throw refuseImage(
      'too_large',
      `The file is ${byteCount(size)}; the limit is ${byteCount(limits.maxInputBytes)}. Send a smaller or more compressed image.`,
    );
  }
}

/** The checks that need only the bytes: size and real format. */
function checkBytes(input: Buffer, limits: ImageLimits): SupportedFormat {
  checkInputSize(input.length, limits);
  const sniffed = sniffImage(input);
  if (!sniffed.supported) throw refuseImage('unsupported_format', sniffed.description);
  return sniffed.format;
}

/** The checks that need the header only, before any pixel is decoded. */
function checkHeader(input: Buffer, format: SupportedFormat, metadata: Metadata, limits: ImageLimits): void {
  const name = formatNames[format];
  const { width, height } = metadata;
  if (!width || !height)
    throw refuseImage(
      'corrupt_image',
      `The ${name} file has no readable dimensions; re-export it and try again.`,
    );
  const pixels = width * height;
  if (pixels > limits.maxInputPixels) {
    throw refuseImage(
      'too_many_pixels',
      `The image is ${width}×${height} (${megapixels(pixels)}); the limit is ${megapixels(limits.maxInputPixels)}. Downscale it and try again.`,
    );
  }
  const frames = metadata.pages ?? 1;
  if (frames > 1 || (format === 'png' && isAnimatedPng(input))) {
    const counted = frames > 1 ? ` with ${frames} frames` : '';
    throw refuseImage(
      'animated_image',
      `The ${name} image is animated${counted}; send a single still image (for example its first frame).`,
    );
  }
}

function corrupt(name: string, error: unknown): PermanentError {
  if (error instanceof PermanentError) return error;
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  if (/pixel limit/i.test(detail ?? '')) {
    return refuseImage('too_many_pixels', `The image exceeds the pixel limit (${detail}).`, error);
  }
  return refuseImage(
    'corrupt_image',
    `The ${name} file is damaged or incomplete and cannot be decoded (${detail}). Re-export or re-upload it.`,
    error,
  );
}

/**
 * Runs a decode under a deadline. libvips stops at whole seconds (sharp's timeout), our timer at
 * the exact time, so the caller gets its answer on time and the thread pool is freed soon after.
 */
async function withDeadline<T>(
  ms: number,
  name: string,
  decode: (seconds: number) => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          refuseImage(
            'decode_timeout',
            `Decoding the ${name} image took longer than ${ms} ms; it is too complex or too large. Send a smaller image.`,
          ),
        ),
      ms,
    );
  });
  const decoding = decode(Math.max(1, Math.ceil(ms / 1000)));
  decoding.catch(() => {}); // a late failure after the deadline has nobody to tell
  try {
    return await Promise.race([decoding, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
