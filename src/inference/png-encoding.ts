// PNG encoder settings as a named trade-off between CPU time and bytes (CLEARCUT_PNG_EFFORT).
// Measured on 2000×2000 photo cutouts (docs/worker.md, "PNG effort"). `fastest` and `smallest` are
// libvips' encoder (libpng on zlib-ng). `balanced` is written here: libpng's adaptive filtering
// tries all five row filters on every row, which was most of the old `balanced`'s cost, while the
// Up filter alone (each byte minus the one above it) gets within a few per cent of its bytes and
// costs a few milliseconds in 32-bit lanes; zlib level 1 then compresses it on the libuv pool.
import { promisify } from 'node:util';
import { deflate as deflateCallback } from 'node:zlib';
import type { PngOptions } from 'sharp';

export const pngEfforts = ['fastest', 'balanced', 'smallest'] as const;
export type PngEffort = (typeof pngEfforts)[number];

/**
 * The default of CLEARCUT_PNG_EFFORT and of library calls that name none: about the bytes of
 * libpng's adaptive filtering at level 3 for less than half its CPU (docs/worker.md, PNG effort).
 */
export const defaultPngEffort: PngEffort = 'balanced';

/** libvips' settings for an effort, or none when the effort is encoded by encodePng. */
const libvipsSettings: Readonly<Record<PngEffort, PngOptions | undefined>> = {
  fastest: { compressionLevel: 1, adaptiveFiltering: false },
  balanced: undefined,
  smallest: { compressionLevel: 6, adaptiveFiltering: true },
};

/** The settings libvips encodes `effort` with; undefined when encodePng writes it instead. */
export function pngSettings(effort: PngEffort): PngOptions | undefined {
  return libvipsSettings[effort];
}

export interface RawImage {
  readonly width: number;
  readonly height: number;
  /** 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), 8 bits each, interleaved. */
  readonly channels: number;
  readonly pixels: Uint8Array;
}

const deflate = promisify(deflateCallback);
const colourTypes: Readonly<Record<number, number>> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const upFilter = 2;

/** An 8-bit PNG of `image`, every row Up-filtered, zlib level 1 (the `balanced` effort). */
export async function encodePng({ width, height, channels, pixels }: RawImage): Promise<Buffer> {
  const colourType = colourTypes[channels];
  if (colourType === undefined) throw new RangeError(`PNG cannot hold ${channels} channels`);
  const stride = width * channels;
  if (pixels.length !== stride * height)
    throw new RangeError(
      `expected ${stride * height} bytes for ${width}×${height}×${channels}, got ${pixels.length}`,
    );
  const rows = upFiltered(pixels, stride);
  const filtered = Buffer.allocUnsafe((stride + 1) * height);
  for (let row = 0; row < height; row++) {
    filtered[row * (stride + 1)] = upFilter;
    filtered.set(rows.subarray(row * stride, (row + 1) * stride), row * (stride + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, colourType, 0, 0, 0], 8); // depth, colour type, deflate, adaptive filtering, no interlace
  return Buffer.concat([
    signature,
    chunk('IHDR', header),
    chunk('IDAT', await deflate(filtered, { level: 1 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Each byte minus the byte `stride` before it, modulo 256 (the first row as is). Four bytes at a
 * time when rows are whole 32-bit words: per-byte subtraction without borrows between bytes.
 */
function upFiltered(pixels: Uint8Array, stride: number): Uint8Array {
  const out = new Uint8Array(pixels.length);
  out.set(pixels.subarray(0, stride));
  if (stride % 4 === 0 && pixels.length % 4 === 0) {
    // Int32 lanes keep V8 in 32-bit integer arithmetic; high = 0x80808080, low = 0x7f7f7f7f.
    const source =
      pixels.byteOffset % 4 === 0
        ? new Int32Array(pixels.buffer, pixels.byteOffset, pixels.length / 4)
        : new Int32Array(pixels.slice().buffer);
    const target = new Int32Array(out.buffer);
    const high = -0x7f7f7f80;
    const low = 0x7f7f7f7f;
    const rowWords = stride / 4;
    for (let word = rowWords; word < source.length; word++) {
      const a = source[word]! | 0;
      const b = source[word - rowWords]! | 0;
      target[word] = (((a | high) - (b & low)) | 0) ^ ((a ^ ~b) & high);
    }
  } else {
    for (let index = stride; index < pixels.length; index++)
      out[index] = pixels[index]! - pixels[index - stride]!;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const crcTable = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** CRC-32 (ISO 3309) as PNG chunks carry it; node:zlib's crc32 needs Node 20.15. */
function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let index = 0; index < bytes.length; index++) c = crcTable[(c ^ bytes[index]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
