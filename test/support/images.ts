// Images for tests, made on the spot with sharp: scenes whose subject mask is known exactly, and
// hostile files (truncated, bombs, animations, odd colour spaces) built byte by byte.
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import type { DecodedImage } from '../../src/images/decode.js';
import type { Box } from '../../src/inference/geometry.js';

export type Rgb = readonly [number, number, number];

export interface Scene {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB. */
  readonly rgb: Buffer;
  /** Ground truth: 255 on the subject, 0 elsewhere. */
  readonly mask: Uint8Array;
  readonly subject: Box;
}

/** A `foreground` rectangle (the subject) on a `background` of the given size. */
export function rectangleScene(options: {
  width: number;
  height: number;
  subject: Box;
  background?: Rgb;
  foreground?: Rgb;
}): Scene {
  const { width, height, subject } = options;
  const background = options.background ?? [40, 90, 160];
  const foreground = options.foreground ?? [220, 60, 30];
  const rgb = Buffer.alloc(width * height * 3);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside =
        x >= subject.left &&
        x < subject.left + subject.width &&
        y >= subject.top &&
        y < subject.top + subject.height;
      const colour = inside ? foreground : background;
      const pixel = y * width + x;
      rgb.set(colour, pixel * 3);
      mask[pixel] = inside ? 255 : 0;
    }
  }
  return { width, height, rgb, mask, subject };
}

export function decoded(scene: Pick<Scene, 'width' | 'height' | 'rgb'>): DecodedImage {
  return { width: scene.width, height: scene.height, channels: 3, pixels: scene.rgb, format: 'png' };
}

/** Raw interleaved pixels encoded as PNG, JPEG or WebP (lossless WebP, so pixels survive). */
export function encode(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  format: 'png' | 'jpeg' | 'webp',
): Promise<Buffer> {
  let image = sharp(pixels, { raw: { width, height, channels } });
  if (channels === 1) image = image.toColourspace('b-w');
  if (format === 'png') return image.png().toBuffer();
  if (format === 'jpeg') return image.jpeg({ quality: 95 }).toBuffer();
  return image.webp({ lossless: true }).toBuffer();
}

/** Pixels of any encoded image, as sharp decodes them (`channels` 1 keeps one gray channel). */
export async function pixelsOf(
  bytes: Buffer,
  channels?: 1,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  let image = sharp(bytes);
  if (channels === 1) image = image.toColourspace('b-w');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** A noisy photo-like RGB image (JPEG compresses it like a photo, so truncation hits pixel data). */
export function noisyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export function truncated(bytes: Buffer, fraction: number): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * fraction));
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A decompression bomb's header: a valid PNG signature and IHDR claiming width × height 8-bit
 * grayscale pixels, followed by a few bytes of image data. Small file, enormous decode.
 */
export function pngClaimingSize(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit, grayscale, deflate, adaptive filters, no interlace
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00]); // the start of a zlib stream of zeros
  return Buffer.concat([
    pngSignature,
    chunk('IHDR', header),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An APNG: a normal PNG with an `acTL` (animation control) chunk before its image data. */
export async function animatedPng(): Promise<Buffer> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  const ihdrEnd = 8 + 12 + 13;
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0); // frames
  actl.writeUInt32BE(0, 4); // loop forever
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('acTL', actl), png.subarray(ihdrEnd)]);
}

export function animatedWebp(frames = 3): Promise<Buffer> {
  const width = 16;
  const height = 16;
  const pixels = Buffer.alloc(width * height * frames * 3);
  for (let frame = 0; frame < frames; frame++)
    pixels.fill(frame * 80, frame * width * height * 3, (frame + 1) * width * height * 3);
  return sharp(pixels, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .webp({ loop: 0, delay: Array(frames).fill(100) })
    .toBuffer();
}

/** A 16-bit RGB PNG of one colour, given in 16-bit values (sharp reads a Uint16Array as 16-bit). */
export function png16(width: number, height: number, colour: Rgb): Promise<Buffer> {
  const pixels = new Uint16Array(width * height * 3);
  for (let index = 0; index < pixels.length; index++) pixels[index] = colour[index % 3]!;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
}

export function cmykJpeg(width: number, height: number, colour: Rgb): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } },
  })
    .toColourspace('cmyk')
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** A JPEG stored sideways with an EXIF orientation tag telling viewers to turn it. */
export function orientedJpeg(width: number, height: number, orientation: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#c08040' } })
    .jpeg()
    .withMetadata({ orientation })
    .toBuffer();
}

/** A small PNG product shot (a red square on a coloured ground), 64–112 px depending on `seed`. */
export function smallProductPng(seed: number): Promise<Buffer> {
  const size = 64 + (seed % 4) * 16;
  return sharp({
    create: { width: size, height: size, channels: 3, background: { r: seed % 256, g: 80, b: 160 } },
  })
    .composite([
      {
        input: { create: { width: size / 2, height: size / 2, channels: 3, background: '#e03c1e' } },
        left: size / 4,
        top: size / 4,
      },
    ])
    .png()
    .toBuffer();
}
