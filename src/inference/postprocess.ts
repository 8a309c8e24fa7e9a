// Post-processing, arithmetic for arithmetic as rembg's U2netSession.predict
// (rembg/sessions/u2net.py):
//   pred = ort_outs[0][:, 0, :, :]                       (float32)
//   pred = (pred - np.min(pred)) / (np.max(pred) - np.min(pred))
//   mask = Image.fromarray((pred.clip(0, 1) * 255).astype("uint8"), mode="L")   (truncates)
//   mask = mask.resize(img.size, Image.LANCZOS)
// The mask becomes the alpha as is: soft edges, no threshold.
import sharp from 'sharp';
import { upscaleMask } from './mask-upscale.js';

const f32 = Math.fround;

/**
 * The 8-bit S×S mask from the first S×S values of a model output (its first channel). Every
 * operation rounds to float32 as numpy does on float32 arrays. A constant prediction (max = min)
 * gives NaN in rembg, which numpy casts to 0 on x86; here it is a mask of zeros by definition.
 */
export function predictionToMask(prediction: Float32Array, size: number): Uint8Array {
  const plane = size * size;
  if (prediction.length < plane)
    throw new RangeError(`expected at least ${plane} values, got ${prediction.length}`);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < plane; index++) {
    const value = prediction[index]!;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const mask = new Uint8Array(plane);
  const range = f32(max - min);
  if (!(range > 0)) return mask;
  for (let index = 0; index < plane; index++) {
    const normalized = f32(f32(prediction[index]! - min) / range);
    const clipped = Math.min(Math.max(normalized, 0), 1);
    mask[index] = Math.trunc(f32(clipped * 255));
  }
  return mask;
}

/**
 * The S×S mask resized back to the source's size with Lanczos (identity when the size is the same).
 * An enlargement, the usual case, is computed by upscaleMask, byte for byte as sharp would, for a
 * fifth to half of its CPU; a side that shrinks goes through sharp.
 */
export async function resizeMask(
  mask: Uint8Array,
  size: number,
  width: number,
  height: number,
): Promise<Uint8Array> {
  if (width === size && height === size) return mask;
  if (width > size && height > size) return upscaleMask(mask, size, width, height);
  return sharpResizeMask(mask, size, width, height);
}

/** sharp's Lanczos-3 resize of a one-band S×S mask: the reference upscaleMask matches. */
export function sharpResizeMask(
  mask: Uint8Array,
  size: number,
  width: number,
  height: number,
): Promise<Uint8Array> {
  return sharp(mask, { raw: { width: size, height: size, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace('b-w') // sharp widens one-channel data to sRGB unless told to keep it
    .raw()
    .toBuffer();
}
