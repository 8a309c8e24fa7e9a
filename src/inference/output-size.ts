// How large each output will be, known before a pixel is rendered, and the caps on it: a producer's
// options (a square canvas, a crop margin) can ask for far more pixels than the source has.
import {
  maxOutputPixels,
  maxTaskOutputPixels,
  type Rendition,
  type RenditionKind,
  renditionOutputs,
} from '../contracts/renditions.js';
import { PermanentError } from '../errors.js';
import { canvasShapeOf } from './backgrounds.js';
import { type Box, canvasLayout, expandBox, fitInside, marginPixels, type Size } from './geometry.js';

export interface OutputLimits {
  /** Largest output of one rendition, width × height. */
  readonly maxOutputPixels: number;
  /** Largest total of one image's outputs. */
  readonly maxTaskOutputPixels: number;
}

/** The job contract's caps: what a worker allows unless configured lower. */
export const contractOutputLimits: OutputLimits = { maxOutputPixels, maxTaskOutputPixels };

/** The part of the source a crop keeps: the subject box (the frame when empty) plus the margin. */
export function cropArea(margin: number | string, image: Size, subject: Box | null): Box {
  const box = subject ?? { left: 0, top: 0, ...image };
  return expandBox(box, marginPixels(margin, box), image);
}

/** The width and height `rendition` will have for a source of size `image` whose subject is `subject`. */
export function outputSize(rendition: Rendition, image: Size, subject: Box | null): Size {
  const { width, height } = scaledFrame(rendition, image, subject);
  return { width, height };
}

function scaledFrame(rendition: Rendition, image: Size, subject: Box | null): Size {
  switch (rendition.kind) {
    case 'cutout':
    case 'mask':
      return fitInside(image, rendition.maxSize);
    case 'white':
    case 'background': {
      const canvas = canvasShapeOf(rendition);
      if (canvas === undefined) return fitInside(image, rendition.maxSize);
      return canvasLayout(subject ?? image, canvas, rendition.maxSize);
    }
    case 'crop':
      return fitInside(cropArea(rendition.margin, image, subject), rendition.maxSize);
  }
}

export interface PlannedOutput {
  readonly index: number;
  readonly kind: RenditionKind;
  /** One of the rendition's `sizes`, when it lists them. */
  readonly asked?: number;
  readonly size: Size;
}

const tinySubject: Box = { left: 0, top: 0, width: 1, height: 1 };

/**
 * What every output will have at least, whatever the mask turns out to be (a one-pixel subject:
 * canvases and crops only grow with the subject): checked before the model runs, so an output
 * bomb costs no inference. Outputs that do not depend on the subject get their exact size.
 */
export function leastOutputSizes(renditions: readonly Rendition[], image: Size): PlannedOutput[] {
  return renditionOutputs(renditions).map(({ index, rendition, size }) => ({
    index,
    kind: rendition.kind,
    ...(size === undefined ? {} : { asked: size }),
    size: outputSize(rendition, image, tinySubject),
  }));
}

/**
 * Throws PermanentError(output_too_large) when one output or their total is over the limits;
 * `atLeast` says the sizes are lower bounds (leastOutputSizes), in the message.
 */
export function checkOutputSizes(
  outputs: readonly PlannedOutput[],
  limits: OutputLimits,
  atLeast = false,
): void {
  const wouldBe = atLeast ? 'would be at least' : 'would be';
  let total = 0;
  for (const { index, kind, asked, size } of outputs) {
    const pixels = size.width * size.height;
    if (pixels > limits.maxOutputPixels) {
      const which = asked === undefined ? kind : `${kind}, size ${asked}`;
      throw new PermanentError(
        'output_too_large',
        `renditions[${index}] (${which}) ${wouldBe} ${size.width}×${size.height} = ${pixels} pixels, more than the ${limits.maxOutputPixels} allowed per output (CLEARCUT_MAX_OUTPUT_PIXELS)`,
      );
    }
    total += pixels;
  }
  if (total > limits.maxTaskOutputPixels) {
    throw new PermanentError(
      'output_too_large',
      `the renditions ${wouldBe} ${total} pixels together, more than the ${limits.maxTaskOutputPixels} allowed per image (CLEARCUT_MAX_TASK_OUTPUT_PIXELS)`,
    );
  }
}
