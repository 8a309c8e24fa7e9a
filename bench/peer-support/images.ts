// The images both systems see: colour photos (the fixtures', when this checkout has them, and
// generated 2000×2000 catalog-style JPEGs) and composites whose true alpha is known.
import sharp from 'sharp';
import { sniffImage } from '../../src/images/sniff.js';
import { buildTruthSet } from '../quality/composites.js';
import { generatePhotos, photosIn, sharedPhotoDir } from '../support/photos.js';

export interface BenchImage {
  readonly name: string;
  readonly bytes: Buffer;
  readonly mime: string;
  readonly kind: 'photo' | 'composite';
  /** The true alpha, for composites. */
  readonly truth?: Uint8Array;
}

/**
 * Fixture photos in colour and without alpha: the grey textures are backdrops and horse.png /
 * logo.png are subjects on white, both used by the composites instead.
 */
export async function benchImages(generated: number): Promise<BenchImage[]> {
  const images: BenchImage[] = [];
  for (const photo of await photosIn(sharedPhotoDir)) {
    const { space, hasAlpha } = await sharp(photo.bytes).metadata();
    if (space === 'srgb' && !hasAlpha) images.push({ ...photo, mime: mimeOf(photo.bytes), kind: 'photo' });
  }
  for (const photo of await generatePhotos(generated)) {
    images.push({ ...photo, mime: mimeOf(photo.bytes), kind: 'photo' });
  }
  for (const composite of await buildTruthSet(sharedPhotoDir)) {
    images.push({
      name: composite.name,
      bytes: composite.bytes,
      mime: 'image/png',
      kind: 'composite',
      truth: composite.truth,
    });
  }
  return images;
}

function mimeOf(bytes: Uint8Array): string {
  const sniffed = sniffImage(bytes);
  if (!sniffed.supported) throw new Error(sniffed.description);
  return `image/${sniffed.format}`;
}

/** The alpha channel of a PNG as decoded (its own alpha, or 255 everywhere when it has none). */
export async function alphaOf(
  png: Uint8Array,
): Promise<{ alpha: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(png)
    .ensureAlpha()
    .extractChannel(3)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    alpha: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
  };
}
