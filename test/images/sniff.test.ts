import { describe, expect, it } from 'vitest';
import { isAnimatedPng, sniffImage } from '../../src/images/sniff.js';
import { animatedPng, encode } from '../support/images.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))),
  );

describe('sniffImage', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], '\x00\x10JFIF')],
    ['png', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
    ['webp', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')],
  ])('recognises %s by its signature', (format, head) => {
    expect(sniffImage(head)).toEqual({ supported: true, format });
  });

  it.each([
    ['GIF', bytes('GIF89a', [1, 0, 1, 0])],
    ['BMP', bytes('BM', [0x3a, 0, 0, 0])],
    ['TIFF', bytes([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0])],
    ['HEIC', bytes([0, 0, 0, 0x18], 'ftypheic')],
    ['AVIF', bytes([0, 0, 0, 0x1c], 'ftypavif')],
    ['PDF', bytes('%PDF-1.7\n')],
    ['SVG', bytes('  <svg xmlns="http://www.w3.org/2000/svg">')],
    ['text', bytes('name,price\nshoe,10\n')],
    ['unknown signature', bytes([0x00, 0x01, 0x02, 0x03, 0x04])],
    ['not WebP', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')],
  ])('refuses %s, naming what it is', (name, head) => {
    const sniffed = sniffImage(head);
    expect(sniffed.supported).toBe(false);
    if (!sniffed.supported) {
      expect(sniffed.description).toContain(name);
      expect(sniffed.description).toContain('JPEG, PNG and WebP');
    }
  });

  it('does not take a JPEG signature that stops short', () => {
    expect(sniffImage(bytes([0xff, 0xd8])).supported).toBe(false);
  });
});

describe('isAnimatedPng', () => {
  it('finds the animation chunk of an APNG and none in a plain PNG', async () => {
    expect(isAnimatedPng(await animatedPng())).toBe(true);
    expect(isAnimatedPng(await encode(new Uint8Array(12), 2, 2, 3, 'png'))).toBe(false);
  });
});
