// Shadows under the subject on a background: a drop shadow (the subject's own alpha, offset) or a
// contact shadow (an ellipse where the subject meets the floor), blurred, at an opacity, in a
// colour. Drawn as one RGBA layer the size of the canvas, composited between background and subject.
// Offset and blur are in pixels of the full-size canvas: an output scaled down (maxSize, sizes)
// scales them with it, so every size shows the same shadow.
import sharp from 'sharp';
import type { Rgba } from '../contracts/backgrounds.js';
import type { Box, Size } from './geometry.js';

export interface ShadowSpec {
  readonly type: 'drop' | 'contact';
  /** Shift in canvas pixels (right, down). */
  readonly offsetX: number;
  readonly offsetY: number;
  /** Gaussian sigma in canvas pixels; 0 is a hard shadow. */
  readonly blur: number;
  /** 0–1, multiplied into the shadow's alpha. */
  readonly opacity: number;
  readonly colour: Rgba;
}

/** The shadow for an output `scale` times the full-size canvas: offset and blur scaled with it. */
export function scaledShadow(shadow: ShadowSpec, scale: number): ShadowSpec {
  if (scale === 1) return shadow;
  return {
    ...shadow,
    offsetX: Math.round(shadow.offsetX * scale),
    offsetY: Math.round(shadow.offsetY * scale),
    blur: shadow.blur * scale,
  };
}

/**
 * Above this sigma the shape is blurred at a reduced scale (sigma `reducedSigma` there) and scaled
 * back up: a Gaussian that wide has no detail the smaller grid loses, and the blur's cost grows
 * with sigma × pixels (sigma 200 on 2000²: 10× the time of sigma 8 at full scale).
 */
export const reducedBlurAbove = 32;
const reducedSigma = 8;

/**
 * The shadow's alpha on the canvas before blur and opacity: the placed subject's alpha (drop), or
 * a filled ellipse as wide as the placed subject and an eighth as tall, centred on its bottom edge
 * (contact); both shifted by the offset and clipped to the canvas.
 */
export function shadowShape(
  shadow: ShadowSpec,
  canvas: Size,
  placed: Box,
  placedAlpha: Uint8Array,
): Uint8Array {
  const shape = new Uint8Array(canvas.width * canvas.height);
  const left = placed.left + shadow.offsetX;
  const top = placed.top + shadow.offsetY;
  if (shadow.type === 'drop') {
    for (let y = 0; y < placed.height; y++) {
      const cy = top + y;
      if (cy < 0 || cy >= canvas.height) continue;
      for (let x = 0; x < placed.width; x++) {
        const cx = left + x;
        if (cx >= 0 && cx < canvas.width) shape[cy * canvas.width + cx] = placedAlpha[y * placed.width + x]!;
      }
    }
    return shape;
  }
  const rx = placed.width / 2;
  const ry = Math.max(1, placed.width / 16);
  const centreX = left + rx;
  const centreY = top + placed.height;
  for (
    let y = Math.max(0, Math.floor(centreY - ry));
    y < Math.min(canvas.height, Math.ceil(centreY + ry));
    y++
  ) {
    for (
      let x = Math.max(0, Math.floor(centreX - rx));
      x < Math.min(canvas.width, Math.ceil(centreX + rx));
      x++
    ) {
      const dx = (x + 0.5 - centreX) / rx;
      const dy = (y + 0.5 - centreY) / ry;
      if (dx * dx + dy * dy <= 1) shape[y * canvas.width + x] = 255;
    }
  }
  return shape;
}

/** The RGBA layer: the shape blurred (libvips Gaussian), times the opacity, in the shadow colour. */
export async function shadowLayer(
  shadow: ShadowSpec,
  canvas: Size,
  placed: Box,
  placedAlpha: Uint8Array,
): Promise<Buffer> {
  let alpha: Uint8Array = shadowShape(shadow, canvas, placed, placedAlpha);
  if (shadow.blur > 0) alpha = await blurred(alpha, canvas, shadow.blur);
  const { r, g, b } = shadow.colour;
  const layer = Buffer.alloc(canvas.width * canvas.height * 4);
  for (let i = 0; i < alpha.length; i++) {
    layer[i * 4] = r;
    layer[i * 4 + 1] = g;
    layer[i * 4 + 2] = b;
    layer[i * 4 + 3] = Math.round(alpha[i]! * shadow.opacity);
  }
  return layer;
}

/** The Gaussian blur of a one-channel image; a large sigma at a reduced scale (reducedBlurAbove). */
export async function blurred(alpha: Uint8Array, canvas: Size, sigma: number): Promise<Buffer> {
  const image = () => sharp(alpha, { raw: { ...canvas, channels: 1 } });
  const factor = sigma > reducedBlurAbove ? sigma / reducedSigma : 1;
  const small = { width: Math.ceil(canvas.width / factor), height: Math.ceil(canvas.height / factor) };
  if (factor === 1 || small.width < 2 || small.height < 2) {
    return image().blur(Math.max(0.3, sigma)).toColourspace('b-w').raw().toBuffer();
  }
  // Area-averaged down, blurred, and bilinearly up: the blur is smooth at this scale, so the
  // interpolation adds no visible steps.
  const reduced = await image()
    .resize(small.width, small.height, { fit: 'fill', kernel: 'linear' })
    .blur((sigma * small.width) / canvas.width)
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  return sharp(reduced, { raw: { ...small, channels: 1 } })
    .resize(canvas.width, canvas.height, { fit: 'fill', kernel: 'linear' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
}
