import { PermanentError } from '../errors.js';

/**
 * Why an input image was refused. Stable codes: they travel in result events and task rows, so
 * clients may switch on them. Every refusal is permanent: the same bytes will fail the same way.
 */
export const imageRefusalCodes = [
  'empty_file',
  'too_large',
  'unsupported_format',
  'too_many_pixels',
  'animated_image',
  'corrupt_image',
  'decode_timeout',
] as const;

export type ImageRefusalCode = (typeof imageRefusalCodes)[number];

export function refuseImage(code: ImageRefusalCode, message: string, cause?: unknown): PermanentError {
  return new PermanentError(code, message, cause === undefined ? undefined : { cause });
}

export function megapixels(pixels: number): string {
  return `${(pixels / 1_000_000).toFixed(1)} megapixels`;
}

export function byteCount(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
