// Pre-processing, arithmetic for arithmetic as rembg's BaseSession.normalize
// (rembg/sessions/base.py):
//   im = img.convert("RGB").resize((S, S), Image.LANCZOS)
//   im_ary = np.array(im); im_ary = im_ary / max(np.max(im_ary), 1e-6)
//   tmp[:, :, c] = (im_ary[:, :, c] - mean[c]) / std[c]      (float64)
//   tmp.transpose((2, 0, 1))[None].astype(np.float32)       (NCHW)
import sharp from 'sharp';
import type { DecodedImage } from './decode.js';

export interface Normalization {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/**
 * The image as the model's S×S RGB input (interleaved, 8-bit): stretched to the square like
 * PIL's resize((S, S)), not letterboxed; alpha dropped without compositing, like convert("RGB").
 * An image already S×S is used as is, as PIL's resize returns a copy at the same size.
 */
export async function resizeForModel(image: DecodedImage, size: number): Promise<Uint8Array> {
  const { width, height, channels, pixels } = image;
  if (width === size && height === size) return channels === 3 ? pixels : dropAlpha(pixels);
  return sharp(pixels, { raw: { width, height, channels } })
    .removeAlpha()
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
}

function dropAlpha(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let source = 0, target = 0; source < rgba.length; source += 4, target += 3) {
    rgb[target] = rgba[source]!;
    rgb[target + 1] = rgba[source + 1]!;
    rgb[target + 2] = rgba[source + 2]!;
  }
  return rgb;
}

/**
 * rembg's normalisation of an interleaved S×S RGB image into a 1×3×S×S float32 tensor (planar).
 * Each channel maps only 256 possible bytes, so the float64 arithmetic runs once per byte value
 * into a table; storing into a Float32Array rounds like numpy's astype(np.float32).
 */
export function normalizeForModel(rgb: Uint8Array, size: number, { mean, std }: Normalization): Float32Array {
  const plane = size * size;
  if (rgb.length !== plane * 3) throw new RangeError(`expected ${plane * 3} RGB bytes, got ${rgb.length}`);
  let max = 0;
  for (let index = 0; index < rgb.length; index++) if (rgb[index]! > max) max = rgb[index]!;
  const divisor = Math.max(max, 1e-6);
  const tables = [0, 1, 2].map((channel) => {
    const table = new Float64Array(256);
    for (let value = 0; value < 256; value++)
      table[value] = (value / divisor - mean[channel]!) / std[channel]!;
    return table;
  }) as [Float64Array, Float64Array, Float64Array];
  const [red, green, blue] = tables;
  const tensor = new Float32Array(plane * 3);
  for (let pixel = 0, source = 0; pixel < plane; pixel++, source += 3) {
    tensor[pixel] = red[rgb[source]!]!;
    tensor[plane + pixel] = green[rgb[source + 1]!]!;
    tensor[2 * plane + pixel] = blue[rgb[source + 2]!]!;
  }
  return tensor;
}
