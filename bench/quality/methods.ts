// The four ways bench:quality makes a cutout from the model's mask, each timed on its own:
// the mask as is, + edge refinement, + colour decontamination, and rembg's closed-form matting.
import type { DecodedImage } from '../../src/images/decode.js';
import { decontaminateColours } from '../../src/inference/refine/decontaminate.js';
import { refineEdges } from '../../src/inference/refine/refine-edges.js';
import { composeCutout } from '../../src/inference/render.js';
import { type ClosedFormOptions, closedFormAlpha } from './closed-form.js';

export const methodNames = ['model', 'refine', 'refine+decontaminate', 'rembg-closed-form'] as const;
export type MethodName = (typeof methodNames)[number];

export interface Cutout {
  readonly alpha: Uint8Array;
  /** Interleaved RGB the cutout shows where alpha > 0. */
  readonly rgb: Uint8Array;
  /** Time of this method's own step after the model (for `model`: the model step). */
  readonly ms: number;
  readonly note?: string;
}

/** Every method's cutout of `image`, given the model's `mask` and how long the model step took. */
export async function cutouts(
  image: DecodedImage,
  mask: Uint8Array,
  modelMs: number,
  baselineOptions: ClosedFormOptions,
): Promise<Record<MethodName, Cutout>> {
  let started = performance.now();
  const refined = refineEdges(image, mask);
  const refineMs = performance.now() - started;
  started = performance.now();
  const decontaminated = composeCutout(image, refined);
  decontaminateColours(image, refined, decontaminated.rgba);
  const decontaminateMs = performance.now() - started;
  const rgb = sourceRgb(image);
  started = performance.now();
  const baseline = await closedFormAlpha(rgb, mask, image.width, image.height, baselineOptions);
  // rembg then estimates the foreground colour (pymatting's multilevel method); blur fusion stands in.
  const baselineCutout = composeCutout(image, baseline.alpha);
  decontaminateColours(image, baseline.alpha, baselineCutout.rgba);
  const baselineMs = performance.now() - started;
  return {
    model: { alpha: mask, rgb, ms: modelMs },
    refine: { alpha: refined, rgb, ms: refineMs },
    'refine+decontaminate': {
      alpha: refined,
      rgb: rgbOf(decontaminated.rgba),
      ms: refineMs + decontaminateMs,
    },
    'rembg-closed-form': {
      alpha: baseline.alpha,
      rgb: rgbOf(baselineCutout.rgba),
      ms: baselineMs,
      note: `solved at ${baseline.solvedWidth}×${baseline.solvedHeight}, ${baseline.unknown} unknown px, ${baseline.iterations} CG iterations`,
    },
  };
}

function sourceRgb({ pixels, channels, width, height }: DecodedImage): Uint8Array {
  if (channels === 3) return pixels;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(pixels.subarray(i * 4, i * 4 + 3), i * 3);
  return rgb;
}

function rgbOf(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0; i < rgba.length / 4; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return rgb;
}
