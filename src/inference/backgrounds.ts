// The subject on a background (a colour with or without alpha, or an image), on the source's frame
// or on a canvas. An opaque colour flattens the subject first (the white rendition's historic
// arithmetic, kept byte for byte); anything else composites the RGBA subject over the background.
import sharp, { type OverlayOptions, type Sharp } from 'sharp';
import { aspectRatio, parseColour, type Rgba } from '../contracts/backgrounds.js';
import type { Rendition } from '../contracts/renditions.js';
import type { DecodedImage } from '../images/decode.js';
import { pipelineOf } from './encode.js';
import { type Box, type CanvasShape, canvasLayout, fitInside, type Size } from './geometry.js';
import type { RawImage } from './png-encoding.js';
import { type ShadowSpec, scaledShadow, shadowLayer } from './shadows.js';

export interface BackgroundSpec {
  /** A colour, or an image (its own alpha flattened on white) cover-fitted to the output. */
  readonly background: Rgba | DecodedImage;
  /** Absent: the output keeps the source's frame. */
  readonly canvas?: CanvasShape | undefined;
  readonly maxSize?: number | undefined;
  /** Drawn between background and subject; the subject is then composited, never flattened. */
  readonly shadow?: ShadowSpec | undefined;
}

type BackgroundRendition = Extract<Rendition, { kind: 'white' | 'background' }>;

export const white: Rgba = { r: 255, g: 255, b: 255, alpha: 255 };

/** The canvas a rendition asks for; `white` with `square` is a 1:1 canvas, centred. */
export function canvasShapeOf(rendition: BackgroundRendition): CanvasShape | undefined {
  if (rendition.kind === 'white') {
    if (!rendition.square) return undefined;
    return { aspect: 1, minSide: rendition.minSide, fill: rendition.fill, position: 'center' };
  }
  const { canvas } = rendition;
  if (canvas === undefined) return undefined;
  const { fill, position } = canvas;
  if (canvas.aspect !== undefined) {
    return { aspect: aspectRatio(canvas.aspect), minSide: canvas.minSide, fill, position };
  }
  return { width: canvas.width!, height: canvas.height!, fill, position };
}

/**
 * What a rendition puts its subject on: `white` is the preset "#FFFFFF"; an image background comes
 * from `images` (fetched and decoded by the caller, by its "s3://bucket/key").
 */
export function backgroundSpecOf(
  rendition: BackgroundRendition,
  images: ReadonlyMap<string, DecodedImage>,
): BackgroundSpec {
  const canvas = canvasShapeOf(rendition);
  const { maxSize } = rendition;
  if (rendition.kind === 'white') return { background: white, canvas, maxSize };
  const background = parseColour(rendition.background) ?? images.get(rendition.background);
  if (background === undefined) throw new Error(`the background ${rendition.background} was not fetched`);
  const { shadow } = rendition;
  if (shadow === undefined) return { background, canvas, maxSize };
  const { color, ...rest } = shadow;
  return { background, canvas, maxSize, shadow: { ...rest, colour: parseColour(color)! } };
}

/** The cutout (RGBA, the source's size) and where its subject is. */
export interface Subject {
  readonly rgba: Buffer;
  readonly size: Size;
  /** The subject box; null when the mask is empty (the whole frame is placed). */
  readonly box: Box | null;
}

export async function onBackground(subject: Subject, spec: BackgroundSpec): Promise<Sharp> {
  const cutout = () =>
    sharp(subject.rgba, { raw: { width: subject.size.width, height: subject.size.height, channels: 4 } });
  const colour = 'alpha' in spec.background ? spec.background : undefined;
  const opaque = colour !== undefined && colour.alpha === 255 && spec.shadow === undefined;
  if (spec.canvas === undefined) {
    if (opaque) return limit(cutout().flatten({ background: rgb(colour) }), subject.size, spec.maxSize);
    const frame = { left: 0, top: 0, ...subject.size };
    const composed = await over(subject.rgba, subject.size, frame, spec);
    return limit(composed, subject.size, spec.maxSize);
  }
  const box = subject.box ?? { left: 0, top: 0, ...subject.size };
  const layout = canvasLayout(box, spec.canvas, spec.maxSize);
  const canvas = { width: layout.width, height: layout.height };
  const placed = layout.subject;
  let pipeline = cutout().extract(box);
  // Flattened before resizing, as the white rendition always did: an opaque result must not change.
  if (opaque) pipeline = pipeline.flatten({ background: rgb(colour) });
  if (placed.width !== box.width || placed.height !== box.height) {
    pipeline = pipeline.resize(placed.width, placed.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  const pixels = await pipeline.raw().toBuffer();
  if (opaque) {
    // Composited once to raw: sharp's composite adds an alpha channel, which a flat image must not have.
    const flat = await sharp({ create: { ...canvas, channels: 3, background: rgb(colour) } })
      .composite([
        { input: pixels, raw: { ...size(placed), channels: 3 }, left: placed.left, top: placed.top },
      ])
      .removeAlpha()
      .raw()
      .toBuffer();
    return sharp(flat, { raw: { ...canvas, channels: 3 } });
  }
  // The shadow's offset and blur are in pixels of the canvas before maxSize scales it down.
  const full = spec.shadow && spec.maxSize !== undefined ? canvasLayout(box, spec.canvas) : layout;
  const shadow = spec.shadow && scaledShadow(spec.shadow, layout.width / full.width);
  return over(pixels, canvas, placed, { ...spec, shadow });
}

/**
 * The RGBA `pixels` (of `at`'s size) at `at` over the background, on a canvas of `canvas`'s size,
 * with the shadow (if any) in between.
 */
async function over(pixels: Buffer, canvas: Size, at: Box, spec: BackgroundSpec): Promise<Sharp> {
  const { background, shadow } = spec;
  const base = backgroundLayer(canvas, background);
  const opaque = 'alpha' in background ? background.alpha === 255 : true;
  const layers: OverlayOptions[] = [];
  if (shadow !== undefined) {
    const alpha = new Uint8Array(at.width * at.height);
    for (let i = 0; i < alpha.length; i++) alpha[i] = pixels[i * 4 + 3]!;
    const input = await shadowLayer(shadow, canvas, at, alpha);
    layers.push({ input, raw: { ...canvas, channels: 4 }, left: 0, top: 0 });
  }
  layers.push({ input: pixels, raw: { ...size(at), channels: 4 }, left: at.left, top: at.top });
  let composed = base.composite(layers);
  if (opaque) composed = composed.removeAlpha();
  const data = await composed.raw().toBuffer();
  return sharp(data, { raw: { ...canvas, channels: opaque ? 3 : 4 } });
}

function backgroundLayer(canvas: Size, background: Rgba | DecodedImage): Sharp {
  if ('alpha' in background) {
    const { r, g, b, alpha } = background;
    return sharp({ create: { ...canvas, channels: 4, background: { r, g, b, alpha: alpha / 255 } } });
  }
  const { width, height, channels, pixels } = background;
  return sharp(pixels, { raw: { width, height, channels } })
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .resize(canvas.width, canvas.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' });
}

/** Scales down to fit `maxSize` (never up); raw pixels that fit stay raw (encodeAs takes them as they are). */
export function limit<T extends Sharp | RawImage>(
  image: T,
  from: Size,
  maxSize: number | undefined,
): T | Sharp {
  const target = fitInside(from, maxSize);
  if (target.width === from.width && target.height === from.height) return image;
  const pipeline: Sharp = 'pixels' in image ? pipelineOf(image) : image;
  return pipeline.resize(target.width, target.height, { fit: 'fill', kernel: 'lanczos3' });
}

const rgb = ({ r, g, b }: Rgba) => ({ r, g, b });
const size = ({ width, height }: Size): Size => ({ width, height });
