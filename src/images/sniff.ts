// What a file really is, from its first bytes. File names and declared content types are never trusted.

export const supportedFormats = ['jpeg', 'png', 'webp'] as const;
export type SupportedFormat = (typeof supportedFormats)[number];

export type Sniffed =
  | { readonly supported: true; readonly format: SupportedFormat }
  | { readonly supported: false; readonly description: string };

/** Bytes needed to tell every format below apart (and text from binary). */
export const sniffLength = 64;

const accepted = 'ClearCut accepts JPEG, PNG and WebP images';

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, index) => bytes[offset + index] === byte);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Formats we recognise only to name them in the refusal. */
const otherFormats: readonly [string, (bytes: Uint8Array) => boolean][] = [
  ['a GIF image', (b) => ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a'],
  ['a BMP image', (b) => ascii(b, 0, 2) === 'BM'],
  ['a TIFF image', (b) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])],
  ['an AVIF image', (b) => ascii(b, 4, 8) === 'ftyp' && ascii(b, 8, 12).startsWith('avi')],
  [
    'a HEIC/HEIF image',
    (b) => ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|mif1|msf1|hevc)$/.test(ascii(b, 8, 12)),
  ],
  ['a JPEG XL image', (b) => startsWith(b, [0xff, 0x0a]) || ascii(b, 4, 8) === 'JXL '],
  ['a JPEG 2000 image', (b) => startsWith(b, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20])],
  ['an ICO icon', (b) => startsWith(b, [0x00, 0x00, 0x01, 0x00])],
  ['a Photoshop document', (b) => ascii(b, 0, 4) === '8BPS'],
  ['a PDF document', (b) => ascii(b, 0, 5) === '%PDF-'],
  ['a ZIP archive', (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04])],
  ['a gzip archive', (b) => startsWith(b, [0x1f, 0x8b])],
  ['a RIFF file that is not WebP', (b) => ascii(b, 0, 4) === 'RIFF'],
];

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, sniffLength);
  return (
    sample.length > 0 &&
    sample.every(
      (byte) =>
        byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f) || byte >= 0x80,
    )
  );
}

/** Identifies a file from its first `sniffLength` bytes (more are ignored). */
export function sniffImage(bytes: Uint8Array): Sniffed {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { supported: true, format: 'jpeg' };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { supported: true, format: 'png' };
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP')
    return { supported: true, format: 'webp' };
  const other = otherFormats.find(([, matches]) => matches(bytes));
  if (other)
    return {
      supported: false,
      description: `The file is ${other[0]}; ${accepted}. Convert it and try again.`,
    };
  const start = ascii(bytes, 0, sniffLength).trimStart().toLowerCase();
  if (start.startsWith('<svg') || start.startsWith('<?xml')) {
    return { supported: false, description: `The file is SVG/XML, not a raster image; ${accepted}.` };
  }
  if (looksLikeText(bytes)) {
    return { supported: false, description: `The file is text, not an image; ${accepted}.` };
  }
  return {
    supported: false,
    description: `The file is not a JPEG, PNG or WebP image (unknown signature); ${accepted}.`,
  };
}

/**
 * True for an animated PNG (APNG): an `acTL` chunk before the first `IDAT`. Decoders show only the
 * first frame of those, which would silently drop the rest.
 */
export function isAnimatedPng(png: Uint8Array): boolean {
  let offset = 8;
  while (offset + 8 <= png.length) {
    const length =
      ((png[offset]! << 24) | (png[offset + 1]! << 16) | (png[offset + 2]! << 8) | png[offset + 3]!) >>> 0;
    const type = ascii(png, offset + 4, offset + 8);
    if (type === 'acTL') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    offset += 12 + length;
  }
  return false;
}
