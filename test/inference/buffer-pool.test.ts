import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { createBufferPool, imageBuffers } from '../../src/inference/buffer-pool.js';
import type { Engine } from '../../src/inference/engine.js';
import { resizeMask } from '../../src/inference/postprocess.js';
import { removeBackground } from '../../src/inference/remove.js';
import type { ResolvedModel } from '../../src/models/registry.js';

describe('createBufferPool', () => {
  it('lends a buffer given back to the next taker, and never one still lent', () => {
    const pool = createBufferPool(1024);
    const first = pool.take(100);
    const second = pool.take(100);
    expect(first.length).toBe(100);
    expect(second.buffer).not.toBe(first.buffer);
    pool.give(first);
    const again = pool.take(100);
    expect(again.buffer).toBe(first.buffer);
    expect(pool.take(100).buffer).not.toBe(first.buffer);
  });

  it('takes back only what it lent, once', () => {
    const pool = createBufferPool(1024);
    const lent = pool.take(64);
    pool.give(lent, lent, new Uint8Array(64), undefined);
    const a = pool.take(64);
    const b = pool.take(64);
    expect(a.buffer).toBe(lent.buffer);
    expect(b.buffer).not.toBe(lent.buffer);
  });

  it('serves a smaller request from a buffer at most twice its size, as a view of the exact length', () => {
    const pool = createBufferPool(1024);
    const big = pool.take(100);
    pool.give(big);
    expect(pool.take(30).buffer).not.toBe(big.buffer);
    const view = pool.take(60);
    expect(view.buffer).toBe(big.buffer);
    expect([view.byteOffset, view.length]).toEqual([0, 60]);
  });

  it('keeps at most its idle bytes, dropping the oldest, and never a buffer larger than that', () => {
    const pool = createBufferPool(200);
    const [a, b, c] = [pool.take(100), pool.take(100), pool.take(100)];
    const huge = pool.take(300);
    pool.give(a, b, c, huge);
    const taken = [pool.take(100), pool.take(100), pool.take(100)].map((buffer) => buffer.buffer);
    expect(taken).toContain(b.buffer);
    expect(taken).toContain(c.buffer);
    expect(taken).not.toContain(a.buffer);
    expect(pool.take(300).buffer).not.toBe(huge.buffer);
  });
});

// A stand-in engine whose mask depends on the image (a 32² luminance thumbnail, enlarged by
// upscaleMask into a pooled buffer) and which answers after a delay, so tasks interleave.
const engine: Engine = {
  model: {} as ResolvedModel,
  threads: 1,
  async predictMask(image) {
    const small = await sharp(image.pixels, {
      raw: { width: image.width, height: image.height, channels: image.channels },
    })
      .removeAlpha()
      .resize(32, 32, { fit: 'fill' })
      .toColourspace('b-w')
      .raw()
      .toBuffer();
    // Opaque where brighter than the mean, transparent elsewhere (the background is brighter than the disc).
    const thumbnail = new Uint8Array(small);
    const mean = thumbnail.reduce((sum, value) => sum + value, 0) / thumbnail.length;
    for (let index = 0; index < thumbnail.length; index++)
      thumbnail[index] = thumbnail[index]! > mean ? 255 : 0;
    await new Promise((resolve) => setTimeout(resolve, thumbnail[0]! % 7));
    return resizeMask(thumbnail, 32, image.width, image.height);
  },
  close: async () => {},
};

/** A photo-like image: a gradient, a disc of another colour, noise; `channels` 4 adds a soft alpha. */
async function photo(seed: number, channels: 3 | 4): Promise<Buffer> {
  const [width, height] = [480, 320];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="rgb(${(seed * 40) % 256},140,200)" fill-opacity="${channels === 4 ? 0.6 : 1}"/>
    <circle cx="${180 + seed * 30}" cy="160" r="${90 + seed * 5}" fill="rgb(240,${(seed * 70) % 256},40)"/></svg>`;
  const image = sharp(Buffer.from(svg));
  return channels === 4 ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

const limits = { maxInputBytes: 10_000_000, maxInputPixels: 10_000_000, decodeTimeoutMs: 30_000 };
const renditions = renditionListSchema.parse([
  { kind: 'cutout' },
  { kind: 'mask' },
  { kind: 'white', format: 'jpeg' },
  { kind: 'crop', format: 'webp' },
  { kind: 'cutout', name: 'small', format: 'png', maxSize: 200 },
]);

const bytesOf = async (input: Buffer) =>
  (await removeBackground(engine, input, renditions, limits)).outputs.map((output) => output.bytes);

describe('pooled image buffers in removeBackground', () => {
  it('give the same bytes with several images in flight, on reused and dirty buffers, as one at a time', async () => {
    const inputs = await Promise.all([photo(1, 3), photo(2, 3), photo(3, 4), photo(4, 4)]);
    const alone: Buffer[][] = [];
    for (const input of inputs) alone.push(await bytesOf(input));
    // Each mask is partly transparent and partly opaque, so stale pixels would show.
    for (const [, mask] of alone)
      expect(new Set((await sharp(mask).raw().toBuffer()).values()).size).toBeGreaterThan(2);
    // Whatever the pool holds now is filled with garbage: a reused buffer must be written in full.
    const dirty = [1, 2, 3, 4].map(() => imageBuffers.take(480 * 320 * 4));
    for (const buffer of dirty) buffer.fill(0xa5);
    imageBuffers.give(...dirty);
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all([...inputs, ...inputs].map(bytesOf));
      expect(together).toEqual([...alone, ...alone]);
    }
  });
});
