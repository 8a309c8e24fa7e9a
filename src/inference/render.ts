// Every rendition of one image from its mask: one inference, many outputs.
import type { Sharp } from 'sharp';
import {
  contentTypes,
  type EditOptions,
  editOptionsKey,
  editOptionsOf,
  type ImageFormat,
  type Rendition,
  type RenditionOutputSpec,
  renditionOutputs,
} from '../contracts/renditions.js';
import { errorMessage, PermanentError } from '../errors.js';
import type { DecodedImage } from '../images/decode.js';
import { backgroundSpecOf, limit, onBackground } from './backgrounds.js';
import { imageBuffers } from './buffer-pool.js';
import { encodeAs, pipelineOf } from './encode.js';
import { type Box, subjectBox } from './geometry.js';
import {
  checkOutputSizes,
  contractOutputLimits,
  cropArea,
  type OutputLimits,
  outputSize,
} from './output-size.js';
import { defaultPngEffort, type PngEffort, type RawImage } from './png-encoding.js';
import { decontaminateColours } from './refine/decontaminate.js';
import { maskVariants } from './refine/mask-variants.js';

export interface RenditionOutput {
  /** The rendition as asked (with its `sizes`, if any). */
  readonly rendition: Rendition;
  /** Which of the rendition's `sizes` this output is; absent for a rendition without sizes. */
  readonly size?: number;
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  readonly encodeMs: number;
}

export interface RenderResult {
  /** The subject's bounding box in the source (alpha ≥ subjectAlphaThreshold of the model's mask); null when empty. */
  readonly subject: Box | null;
  /** In the order the renditions were asked for; a rendition with `sizes` gives one per size, in its order. */
  readonly outputs: readonly RenditionOutput[];
}

/**
 * The cutout's alpha and pixels: alpha = mask × the source's own alpha (a transparent source
 * pixel stays transparent), and colour cleared where alpha is 0, so the discarded background
 * travels nowhere hidden in the file (and compresses to nothing). The RGBA, and the alpha when it
 * is not `mask` itself, come from imageBuffers (every byte is written): give them back once read.
 */
export function composeCutout(image: DecodedImage, mask: Uint8Array): { rgba: Buffer; alpha: Uint8Array } {
  const { width, height, channels, pixels } = image;
  const count = width * height;
  if (mask.length !== count) throw new RangeError(`mask has ${mask.length} values for ${count} pixels`);
  const rgba = imageBuffers.take(count * 4);
  // One 32-bit store per pixel instead of four byte stores: half the time on a 2000² image.
  const words = new Int32Array(rgba.buffer, rgba.byteOffset, count);
  const [r, g, b, a] = byteShifts;
  if (channels === 3) {
    for (let pixel = 0, source = 0; pixel < count; pixel++, source += 3) {
      const alpha = mask[pixel]!;
      words[pixel] =
        alpha === 0
          ? 0
          : (pixels[source]! << r) | (pixels[source + 1]! << g) | (pixels[source + 2]! << b) | (alpha << a);
    }
    return { rgba, alpha: mask };
  }
  const alpha = imageBuffers.take(count);
  for (let pixel = 0, source = 0; pixel < count; pixel++, source += 4) {
    const value = ((mask[pixel]! * pixels[source + 3]! + 127) / 255) | 0;
    alpha[pixel] = value;
    words[pixel] =
      value === 0
        ? 0
        : (pixels[source]! << r) | (pixels[source + 1]! << g) | (pixels[source + 2]! << b) | (value << a);
  }
  return { rgba, alpha };
}

/** Where bytes 0–3 of memory sit in a 32-bit word on this machine. */
const byteShifts: readonly [number, number, number, number] =
  new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? [0, 8, 16, 24] : [24, 16, 8, 0];

/** The cutout made from one version of the mask, its alpha and its subject box. */
interface Composition {
  readonly rgba: Buffer;
  readonly alpha: Uint8Array;
  readonly subject: Box | null;
}

/**
 * Every rendition from the image and its mask. Sizes are checked against `limits` before anything
 * is rendered; any failure is a PermanentError (`output_too_large`, `render_failed`): the same
 * image and options would fail the same way again.
 */
export async function renderRenditions(
  image: DecodedImage,
  mask: Uint8Array,
  renditions: readonly Rendition[],
  limits: OutputLimits = contractOutputLimits,
  backgroundImages: ReadonlyMap<string, DecodedImage> = new Map(),
  pngEffort: PngEffort = defaultPngEffort,
): Promise<RenderResult> {
  // One composition per distinct clean-up, refinement and decontamination (most jobs: one, of the model's mask as is).
  const compositions = new Map<string, Composition>();
  // The cutouts' buffers, back to the pool once every rendition has finished reading them.
  const taken: Uint8Array[] = [];
  const maskFor = maskVariants(image, mask);
  const compose = (options: EditOptions): Composition => {
    const id = editOptionsKey(options);
    let composition = compositions.get(id);
    if (composition === undefined) {
      const base = maskFor(options);
      const { rgba, alpha } = composeCutout(image, base);
      taken.push(rgba);
      if (alpha !== base) taken.push(alpha);
      if (options.decontaminate) decontaminateColours(image, alpha, rgba);
      composition = { rgba, alpha, subject: subjectBox(alpha, image.width, image.height) ?? null };
      compositions.set(id, composition);
    }
    return composition;
  };
  const compositionFor = (rendition: Rendition) => compose(editOptionsOf(rendition));
  const subject = compose({}).subject;
  const specs = renditionOutputs(renditions);
  checkOutputSizes(
    specs.map(({ index, rendition, size }) => ({
      index,
      kind: rendition.kind,
      ...(size === undefined ? {} : { asked: size }),
      size: outputSize(rendition, image, compositionFor(rendition).subject),
    })),
    limits,
  );

  const render = async ({ index, rendition, size }: RenditionOutputSpec): Promise<RenditionOutput> => {
    const { rgba, alpha, subject } = compositionFor(rendition);
    const raw = (pixels: Uint8Array, channels: 1 | 4): RawImage => ({
      width: image.width,
      height: image.height,
      channels,
      pixels,
    });
    const cutout = () => pipelineOf(raw(rgba, 4));
    const started = performance.now();
    const finish = async (pipeline: Sharp | RawImage, format: ImageFormat, quality?: number) => {
      const { data, width, height } = await encodeAs(pipeline, format, quality, pngEffort);
      return {
        rendition: renditions[index]!,
        ...(size === undefined ? {} : { size }),
        bytes: data,
        contentType: contentTypes[format],
        width,
        height,
        encodeMs: performance.now() - started,
      };
    };
    switch (rendition.kind) {
      case 'cutout':
        return finish(limit(raw(rgba, 4), image, rendition.maxSize), rendition.format, rendition.quality);
      case 'mask':
        return finish(limit(raw(alpha, 1), image, rendition.maxSize), rendition.format);
      case 'white':
      case 'background':
        return finish(
          await onBackground(
            { rgba, size: image, box: subject },
            backgroundSpecOf(rendition, backgroundImages),
          ),
          rendition.format,
          rendition.quality,
        );
      case 'crop': {
        const area = cropArea(rendition.margin, image, subject);
        // extract() before resize() crops first, then scales the crop.
        return finish(
          limit(cutout().extract(area), area, rendition.maxSize),
          rendition.format,
          rendition.quality,
        );
      }
    }
  };
  const renderOrRefuse = async (spec: RenditionOutputSpec) => {
    try {
      return await render(spec);
    } catch (error) {
      throw new PermanentError(
        'render_failed',
        `renditions[${spec.index}] (${spec.rendition.kind}) could not be rendered: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  };
  try {
    return { subject, outputs: await settled(specs.map(renderOrRefuse)) };
  } finally {
    imageBuffers.give(...taken);
  }
}

/** Promise.all that waits for every promise, so nothing still reads a buffer when it fails. */
async function settled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
