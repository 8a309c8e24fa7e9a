// One source image in, every asked rendition out, from a single inference. Shared by the worker
// and `clearcut remove`.
import type { Rendition } from '../contracts/renditions.js';
import { type DecodedImage, decodeImage, type ImageLimits } from '../images/decode.js';
import type { SupportedFormat } from '../images/sniff.js';
import { imageBuffers } from './buffer-pool.js';
import type { Engine, MaskTimings } from './engine.js';
import type { Box } from './geometry.js';
import {
  checkOutputSizes,
  contractOutputLimits,
  leastOutputSizes,
  type OutputLimits,
} from './output-size.js';
import type { PngEffort } from './png-encoding.js';
import { type RenderResult, type RenditionOutput, renderRenditions } from './render.js';

export interface StageTimings extends MaskTimings {
  decodeMs: number;
  /** All renditions, encoded side by side (each output also carries its own encodeMs). */
  renderMs: number;
}

export interface RemovalResult {
  /** The source's size, upright (EXIF orientation applied); cutout, mask and white keep it. */
  readonly width: number;
  readonly height: number;
  readonly sourceFormat: SupportedFormat;
  readonly subject: Box | null;
  readonly outputs: readonly RenditionOutput[];
  readonly timings: StageTimings;
}

/**
 * Validates and decodes `input` (PermanentError with a refusal code when it is not acceptable),
 * predicts its mask once, and renders every rendition from that mask. PermanentError
 * `output_too_large` when the outputs would exceed the output limits (the contract's by default):
 * before the model runs when the options alone say so, after it when the subject's size does.
 */
export async function removeBackground(
  engine: Engine,
  input: Buffer,
  renditions: readonly Rendition[],
  limits: ImageLimits & Partial<OutputLimits> & { readonly pngEffort?: PngEffort },
  /** Decoded images of the "s3://bucket/key" backgrounds the renditions name, by that text. */
  backgroundImages: ReadonlyMap<string, DecodedImage> = new Map(),
): Promise<RemovalResult> {
  const timings: StageTimings = {
    decodeMs: 0,
    preprocessMs: 0,
    inferenceMs: 0,
    ortMs: 0,
    postprocessMs: 0,
    renderMs: 0,
  };
  let started = performance.now();
  const image: DecodedImage = await decodeImage(input, limits);
  timings.decodeMs = performance.now() - started;
  const outputLimits: OutputLimits = {
    maxOutputPixels: limits.maxOutputPixels ?? contractOutputLimits.maxOutputPixels,
    maxTaskOutputPixels: limits.maxTaskOutputPixels ?? contractOutputLimits.maxTaskOutputPixels,
  };
  checkOutputSizes(leastOutputSizes(renditions, image), outputLimits, true);
  const mask = await engine.predictMask(image, timings);
  started = performance.now();
  let rendered: RenderResult;
  try {
    rendered = await renderRenditions(
      image,
      mask,
      renditions,
      outputLimits,
      backgroundImages,
      limits.pngEffort,
    );
  } finally {
    // Every rendition has settled (renderRenditions waits for all): the next image may reuse the mask.
    imageBuffers.give(mask);
  }
  const { subject, outputs } = rendered;
  timings.renderMs = performance.now() - started;
  return { width: image.width, height: image.height, sourceFormat: image.format, subject, outputs, timings };
}
