import sharp from 'sharp';
import { expect, it } from 'vitest';
import { encodeAs } from '../../src/inference/encode.js';
import { crc32InJavaScript, encodePng, pngEfforts } from '../../src/inference/png-encoding.js';
import { smallProductPng } from '../support/images.js';

it('every PNG effort keeps the pixels exactly (efforts trade CPU for bytes only)', async () => {
  const { data: rgba, info } = await sharp(await smallProductPng(3))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: 4 as const } };
  for (const effort of pngEfforts) {
    const png = await encodeAs(sharp(rgba, raw), 'png', undefined, effort);
    expect([png.width, png.height], effort).toEqual([info.width, info.height]);
    expect(await sharp(png.data).ensureAlpha().raw().toBuffer(), effort).toEqual(rgba);
  }
});

it('raw pixels encode to the same bytes as the same pixels through a sharp pipeline, in every format', async () => {
  const { data: rgba, info } = await sharp(await smallProductPng(3))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const alpha = Uint8Array.from({ length: width * height }, (_, i) => rgba[i * 4 + 3]!);
  for (const [channels, pixels] of [
    [4, rgba],
    [1, alpha],
  ] as const) {
    for (const [format, effort] of [
      ['png', 'balanced'],
      ['png', 'smallest'],
      ['webp', undefined],
      ['jpeg', undefined],
    ] as const) {
      if (format === 'jpeg' && channels === 4) continue; // JPEG has no alpha: sharp flattens
      const raw = { width, height, channels, pixels };
      const direct = await encodeAs(raw, format, undefined, effort);
      // As renditions were built before: a sharp pipeline of the pixels, gray kept gray.
      const pipeline = sharp(pixels, { raw: { width, height, channels } });
      const piped = await encodeAs(
        channels === 1 ? pipeline.toColourspace('b-w') : pipeline,
        format,
        undefined,
        effort,
      );
      expect(direct.data.equals(piped.data), `${channels} channels, ${format} ${effort ?? ''}`).toBe(true);
      expect([direct.width, direct.height]).toEqual([width, height]);
    }
  }
});

it('the Up-filtered PNG holds gray, gray + alpha, RGB and RGBA of any width exactly', async () => {
  for (const channels of [1, 2, 3, 4] as const) {
    for (const [width, height] of [
      [1, 1],
      [7, 5],
      [64, 3],
      [33, 17],
      [9, 150], // rows beyond one piece of 64
    ] as const) {
      // Every byte value, and neighbours that differ by more than 128 (subtraction wraps around).
      const pixels = Uint8Array.from(
        { length: width * height * channels },
        (_, i) => (i * 151 + (i >> 3) * 97) & 255,
      );
      const png = await encodePng({ width, height, channels, pixels });
      const label = `${channels} channels, ${width}×${height}`;
      const { width: w, height: h, channels: c } = await sharp(png).metadata();
      expect([w, h, c], label).toEqual([width, height, channels]);
      // Decoded as libvips' own PNG of the same pixels is (sharp widens gray to sRGB on output).
      const reference = await sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
      expect(await sharp(png).raw().toBuffer(), label).toEqual(await sharp(reference).raw().toBuffer());
      if (channels >= 3) expect(new Uint8Array(await sharp(png).raw().toBuffer()), label).toEqual(pixels);
    }
  }
});

it('the Up-filtered PNG refuses a buffer of the wrong length or a channel count PNG cannot hold', async () => {
  await expect(encodePng({ width: 2, height: 2, channels: 4, pixels: new Uint8Array(15) })).rejects.toThrow(
    'expected 16 bytes for 2×2×4, got 15',
  );
  await expect(encodePng({ width: 1, height: 1, channels: 5, pixels: new Uint8Array(5) })).rejects.toThrow(
    'PNG cannot hold 5 channels',
  );
});

it('the Up-filtered PNG is exact from a Buffer at any byte offset and when it needs several IDAT chunks', async () => {
  const [width, height, channels] = [600, 500, 4];
  // Noise deflates badly: about a megabyte of IDAT data, several chunks of the encoder's pieces.
  let seed = 7;
  const pixels = Uint8Array.from({ length: width * height * channels }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed >> 16;
  });
  // Node's Buffer pool hands out slices at offsets that are not a multiple of 4.
  const unaligned = Buffer.concat([Buffer.from([1]), pixels]).subarray(1);
  expect(unaligned.byteOffset % 4).not.toBe(0);
  const png = await encodePng({ width, height, channels, pixels: unaligned });
  const idatChunks = png.toString('latin1').split('IDAT').length - 1;
  expect(idatChunks).toBeGreaterThan(1);
  expect(new Uint8Array(await sharp(png).raw().toBuffer())).toEqual(pixels);
});

it('the CRC-32 for Node before 20.15 (no zlib.crc32) gives the standard check values, continued', () => {
  const check = Buffer.from('123456789');
  expect(crc32InJavaScript(check)).toBe(0xcbf43926);
  expect(crc32InJavaScript(check.subarray(4), crc32InJavaScript(check.subarray(0, 4)))).toBe(0xcbf43926);
  expect(crc32InJavaScript(Buffer.from('IEND', 'latin1'))).toBe(0xae426082); // every PNG's last CRC
});
