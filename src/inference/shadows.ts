// Shadows under the subject on a background: a drop shadow (the subject's own alpha, offset) or a
// contact shadow (an ellipse where the subject meets the floor), blurred, at an opacity, in a
// colour. Drawn as one RGBA layer the size of the canvas, composited between background and subject.
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
  if (shadow.blur > 0) {
    alpha = await sharp(alpha, { raw: { ...canvas, channels: 1 } })
      .blur(Math.max(0.3, shadow.blur))
      .toColourspace('b-w')
      .raw()
      .toBuffer();
  }
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
