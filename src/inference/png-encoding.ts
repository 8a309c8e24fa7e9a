// PNG encoder settings as a named trade-off between CPU time and bytes (CLEARCUT_PNG_EFFORT).
// Measured on 2000×2000 photo cutouts (docs/worker.md, "PNG effort"). `fastest` and `smallest` are
// libvips' encoder (libpng on zlib-ng). `balanced` is written here: libpng's adaptive filtering
// tries all five row filters on every row, which was most of the old `balanced`'s cost, while the
// Up filter alone (each byte minus the one above it) gets within a few per cent of its bytes and
// costs a few milliseconds in 32-bit lanes; zlib level 1 then compresses it on the libuv pool.
import * as zlib from 'node:zlib';
import type { PngOptions } from 'sharp';
import { imageBuffers } from './buffer-pool.js';

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

const colourTypes: Readonly<Record<number, number>> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const upFilter = 2;
/** Rows filtered and handed to zlib at a time: memory stays near the raw image and its PNG. */
const rowsPerPiece = 64;

/**
 * An 8-bit PNG of `image`, every row Up-filtered, zlib level 1 (the `balanced` effort). The rows
 * are filtered and deflated a few at a time and each deflated piece becomes its own IDAT chunk, so
 * the encoder holds little beyond the pixels and the PNG itself (a 100-megapixel output is allowed).
 */
export async function encodePng({ width, height, channels, pixels }: RawImage): Promise<Buffer> {
  const colourType = colourTypes[channels];
  if (colourType === undefined) throw new RangeError(`PNG cannot hold ${channels} channels`);
  const stride = width * channels;
  if (pixels.length !== stride * height)
    throw new RangeError(
      `expected ${stride * height} bytes for ${width}×${height}×${channels}, got ${pixels.length}`,
    );
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, colourType, 0, 0, 0], 8); // depth, colour type, deflate, adaptive filtering, no interlace
  const parts = [signature, ...chunk('IHDR', header)];
  const deflate = zlib.createDeflate({ level: 1, chunkSize: 256 * 1024 });
  deflate.on('data', (data: Buffer) => parts.push(...chunk('IDAT', data)));
  const ended = new Promise<void>((resolve, reject) => {
    deflate.once('end', resolve);
    deflate.once('error', reject);
  });
  ended.catch(() => {}); // the write that meets an error reports it
  const written = (piece: Uint8Array) =>
    new Promise<void>((resolve, reject) =>
      deflate.write(piece, (error) => (error ? reject(error) : resolve())),
    );
  // Two pieces in turn: one is filtered while zlib compresses the other on the libuv pool, and is
  // filled again only once zlib has consumed it (its write callback). A new piece per 64 rows was
  // the whole image again in garbage (16 MB per 2000² cutout), and V8 runs a full collection for
  // about every 64 MB of such buffers; the two come from the pool and go back to it at the end.
  const pieces = [0, 1].map(() => imageBuffers.take((stride + 1) * Math.min(rowsPerPiece, height)));
  const upRow = upFilterRow(pixels, stride);
  let inFlight = Promise.resolve();
  for (let first = 0, index = 0; first < height; first += rowsPerPiece, index++) {
    const rows = Math.min(rowsPerPiece, height - first);
    const piece = pieces[index % 2]!.subarray(0, (stride + 1) * rows);
    for (let row = 0; row < rows; row++) {
      piece[row * (stride + 1)] = upFilter;
      piece.set(upRow(first + row), row * (stride + 1) + 1);
    }
    await inFlight;
    inFlight = written(piece);
  }
  await inFlight;
  deflate.end();
  await ended;
  imageBuffers.give(...pieces);
  parts.push(...chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * Row `row` Up-filtered: each byte minus the byte above it, modulo 256 (the first row as is), into
 * one reused row buffer. Four bytes at a time when rows are whole 32-bit words: per-byte
 * subtraction without borrows between bytes.
 */
function upFilterRow(pixels: Uint8Array, stride: number): (row: number) => Uint8Array {
  const out = new Uint8Array(stride);
  if (stride % 4 !== 0) {
    return (row) => {
      const at = row * stride;
      if (row === 0) out.set(pixels.subarray(0, stride));
      else
        for (let index = 0; index < stride; index++)
          out[index] = pixels[at + index]! - pixels[at - stride + index]!;
      return out;
    };
  }
  // Int32 lanes keep V8 in 32-bit integer arithmetic; high = 0x80808080, low = 0x7f7f7f7f. A view
  // needs 4-byte alignment: a Buffer from Node's pool may start anywhere, so copy it then.
  const aligned = pixels.byteOffset % 4 === 0 ? pixels : new Uint8Array(pixels);
  const source = new Int32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
  const target = new Int32Array(out.buffer);
  const high = -0x7f7f7f80;
  const low = 0x7f7f7f7f;
  const rowWords = stride / 4;
  return (row) => {
    if (row === 0) {
      out.set(aligned.subarray(0, stride));
      return out;
    }
    for (let word = 0, at = row * rowWords; word < rowWords; word++, at++) {
      const a = source[at]! | 0;
      const b = source[at - rowWords]! | 0;
      target[word] = (((a | high) - (b & low)) | 0) ^ ((a ^ ~b) & high);
    }
    return out;
  };
}

/** A PNG chunk as its length and type, its data (not copied) and its CRC. */
function chunk(type: string, data: Uint8Array): Uint8Array[] {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4, 8))), 0);
  return [head, data, crc];
}

/** CRC-32 (ISO 3309) as PNG chunks carry it, continuing `previous`: zlib's (Node 20.15 on), else ours. */
const crc32: (bytes: Uint8Array, previous?: number) => number =
  (zlib as { crc32?: (bytes: Uint8Array, previous?: number) => number }).crc32 ?? crc32InJavaScript;

const crcTable = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** A byte at a time: ~8 ms per MB, where zlib's takes ~0.3 (the IDAT chunks hold the whole PNG). */
export function crc32InJavaScript(bytes: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let index = 0; index < bytes.length; index++) c = crcTable[(c ^ bytes[index]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
