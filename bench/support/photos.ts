// Photos for benchmarks: the shared fixture folder when this checkout has one next to it, otherwise
// generated product-style photos (seeded, so two runs measure the same pixels).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sniffImage } from '../../src/images/sniff.js';
import { seededRandom } from '../../src/seeded-random.js';

export interface Photo {
  readonly name: string;
  readonly bytes: Buffer;
}

/** ../shared/fixtures/photos relative to the repository. */
export const sharedPhotoDir = fileURLToPath(new URL('../../../shared/fixtures/photos/', import.meta.url));

/** Every JPEG/PNG/WebP in `dir` (by content), in name order; empty when the folder is absent. */
export async function photosIn(dir: string): Promise<Photo[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const photos: Photo[] = [];
  for (const name of names.sort()) {
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    if (bytes && sniffImage(bytes).supported) photos.push({ name, bytes });
  }
  return photos;
}

/**
 * A product-style photo: a soft gradient backdrop, an object of a few shapes with a shadow, and
 * sensor-like noise, as a quality-90 JPEG (what catalogs upload).
 */
export async function generatePhoto(width: number, height: number, seed: number): Promise<Photo> {
  const next = seededRandom(seed);
  const hue = () => Math.floor(next() * 360);
  const cx = width * (0.35 + next() * 0.3);
  const cy = height * (0.4 + next() * 0.2);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs>
      <linearGradient id="backdrop" x1="0" y1="0" x2="0" y2="1">
        <stop offset="0" stop-color="hsl(${hue()},25%,85%)"/><stop offset="1" stop-color="hsl(${hue()},20%,55%)"/>
      </linearGradient>
      <radialGradient id="body"><stop offset="0" stop-color="hsl(${hue()},70%,60%)"/><stop offset="1" stop-color="hsl(${hue()},60%,25%)"/></radialGradient>
      <filter id="blur"><feGaussianBlur stdDeviation="${width / 80}"/></filter>
    </defs>
    <rect width="100%" height="100%" fill="url(#backdrop)"/>
    <ellipse cx="${cx}" cy="${cy + height * 0.28}" rx="${width * 0.25}" ry="${height * 0.04}" fill="#000" opacity="0.35" filter="url(#blur)"/>
    <ellipse cx="${cx}" cy="${cy}" rx="${width * (0.15 + next() * 0.1)}" ry="${height * (0.2 + next() * 0.08)}" fill="url(#body)"/>
    <rect x="${cx - width * 0.05}" y="${cy - height * 0.32}" width="${width * 0.1}" height="${height * 0.14}" rx="${width * 0.02}" fill="hsl(${hue()},50%,40%)"/>
  </svg>`;
  const noise = Buffer.alloc(width * height);
  for (let index = 0; index < noise.length; index++)
    noise[index] = 128 + Math.round((next() + next() + next() - 1.5) * 24);
  const grain = await sharp(noise, { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  const bytes = await sharp(Buffer.from(svg))
    .composite([{ input: grain, blend: 'soft-light' }])
    .removeAlpha()
    .jpeg({ quality: 90 })
    .toBuffer();
  return { name: `generated-${width}x${height}-${seed}.jpg`, bytes };
}

export async function generatePhotos(count: number, size = 2000): Promise<Photo[]> {
  const photos: Photo[] = [];
  for (let seed = 1; seed <= count; seed++) photos.push(await generatePhoto(size, size, seed));
  return photos;
}
