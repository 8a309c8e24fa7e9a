import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import { decodeImage, type ImageLimits } from '../../src/images/decode.js';
import {
  animatedPng,
  animatedWebp,
  cmykJpeg,
  encode,
  noisyJpeg,
  orientedJpeg,
  png16,
  pngClaimingSize,
  rectangleScene,
  truncated,
} from '../support/images.js';

const limits: ImageLimits = {
  maxInputBytes: 50_000_000,
  maxInputPixels: 100_000_000,
  decodeTimeoutMs: 30_000,
};

async function refusal(decoding: Promise<unknown>): Promise<PermanentError> {
  const error = await decoding.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentError);
  return error as PermanentError;
}

const scene = rectangleScene({ width: 24, height: 16, subject: { left: 4, top: 4, width: 8, height: 6 } });

describe('decodeImage accepts', () => {
  it.each(['png', 'webp'] as const)('lossless %s with every pixel intact', async (format) => {
    const image = await decodeImage(await encode(scene.rgb, 24, 16, 3, format), limits);
    expect(image).toMatchObject({ width: 24, height: 16, channels: 3, format });
    expect(image.pixels.equals(scene.rgb)).toBe(true);
  });

  it('JPEG, recognised by its bytes', async () => {
    const image = await decodeImage(await encode(scene.rgb, 24, 16, 3, 'jpeg'), limits);
    expect(image).toMatchObject({ width: 24, height: 16, channels: 3, format: 'jpeg' });
  });

  it('an alpha channel, kept as a fourth channel', async () => {
    const rgba = Buffer.alloc(4 * 4 * 4, 200);
    rgba[3] = 0; // first pixel transparent
    const image = await decodeImage(await encode(rgba, 4, 4, 4, 'png'), limits);
    expect(image.channels).toBe(4);
    expect([...image.pixels.subarray(0, 8)]).toEqual([200, 200, 200, 0, 200, 200, 200, 200]);
  });

  it('grayscale, widened to RGB', async () => {
    const gray = new Uint8Array([0, 64, 128, 255]);
    const image = await decodeImage(await encode(gray, 2, 2, 1, 'png'), limits);
    expect(image.channels).toBe(3);
    expect([...image.pixels]).toEqual([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);
  });

  it('16-bit PNG, narrowed to 8 bits', async () => {
    const image = await decodeImage(await png16(4, 4, [51_400, 12_850, 65_535]), limits);
    expect(image.channels).toBe(3);
    expect([...image.pixels.subarray(0, 3)]).toEqual([200, 50, 255]);
  });

  it('CMYK JPEG, converted to sRGB', async () => {
    const image = await decodeImage(await cmykJpeg(8, 8, [200, 50, 20]), limits);
    expect(image.channels).toBe(3);
    const [r, g, b] = image.pixels;
    // CMYK round trips through an ICC profile, so only roughly the same colour comes back.
    expect(Math.abs(r! - 200)).toBeLessThan(20);
    expect(Math.abs(g! - 50)).toBeLessThan(20);
    expect(Math.abs(b! - 20)).toBeLessThan(25);
  });

  it('EXIF orientation, applied: a sideways-stored photo comes out upright', async () => {
    const image = await decodeImage(await orientedJpeg(40, 20, 6), limits);
    expect([image.width, image.height]).toEqual([20, 40]);
  });
});

describe('decodeImage refuses', () => {
  it('an empty file', async () => {
    const error = await refusal(decodeImage(Buffer.alloc(0), limits));
    expect(error.code).toBe('empty_file');
  });

  it('a file over the byte cap, saying the limit', async () => {
    const png = await encode(scene.rgb, 24, 16, 3, 'png');
    const error = await refusal(decodeImage(png, { ...limits, maxInputBytes: png.length - 1 }));
    expect(error.code).toBe('too_large');
    expect(error.message).toContain(`the limit is ${png.length - 1} bytes`);
  });

  it('text, whatever the file is called', async () => {
    const error = await refusal(decodeImage(Buffer.from('hello, I am a .jpg really'), limits));
    expect(error.code).toBe('unsupported_format');
    expect(error.message).toMatch(/text, not an image.*JPEG, PNG and WebP/);
  });

  it('a GIF, naming it', async () => {
    const error = await refusal(
      decodeImage(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), limits),
    );
    expect(error.code).toBe('unsupported_format');
    expect(error.message).toContain('GIF');
  });

  it.each([0.5, 0.9])('a JPEG truncated to %s of its bytes', async (fraction) => {
    const error = await refusal(decodeImage(truncated(await noisyJpeg(128, 128), fraction), limits));
    expect(error.code).toBe('corrupt_image');
    expect(error.message).toMatch(/JPEG file is damaged or incomplete/);
  });

  it('a truncated PNG', async () => {
    const noisy = await sharp(await noisyJpeg(64, 64))
      .png()
      .toBuffer();
    const error = await refusal(decodeImage(truncated(noisy, 0.7), limits));
    expect(error.code).toBe('corrupt_image');
  });

  it('a PNG bomb: a tiny file declaring 100000×100000 pixels, before decoding anything', async () => {
    const bomb = pngClaimingSize(100_000, 100_000);
    expect(bomb.length).toBeLessThan(100);
    const error = await refusal(decodeImage(bomb, limits));
    expect(error.code).toBe('too_many_pixels');
    expect(error.message).toContain('100000×100000 (10000.0 megapixels); the limit is 100.0 megapixels');
  });

  it('a real image over the pixel cap', async () => {
    const png = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const error = await refusal(decodeImage(png, { ...limits, maxInputPixels: 1_000_000 }));
    expect(error.code).toBe('too_many_pixels');
  });

  it('an animated WebP, counting its frames', async () => {
    const error = await refusal(decodeImage(await animatedWebp(3), limits));
    expect(error.code).toBe('animated_image');
    expect(error.message).toContain('3 frames');
  });

  it('an animated PNG (APNG)', async () => {
    const error = await refusal(decodeImage(await animatedPng(), limits));
    expect(error.code).toBe('animated_image');
  });

  it('an image that takes longer to decode than allowed', async () => {
    const jpeg = await noisyJpeg(1000, 1000);
    const error = await refusal(decodeImage(jpeg, { ...limits, decodeTimeoutMs: 1 }));
    expect(error.code).toBe('decode_timeout');
  });
});
