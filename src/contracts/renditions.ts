import { z } from 'zod';
import {
  aspectRatio,
  backgroundImageLocation,
  backgroundSchema,
  type Canvas,
  canvasSchema,
  parseColour,
  shadowSchema,
} from './backgrounds.js';

// Renditions: the outputs made from ONE inference of an image. Part of the job wire format.

/** The formats each rendition can be written in; the first is its default. */
export const renditionFormats = {
  cutout: ['png', 'webp'],
  mask: ['png'],
  white: ['jpeg', 'png', 'webp'],
  crop: ['png', 'webp'],
  background: ['png', 'jpeg', 'webp'],
} as const;

/**
 * The largest output one rendition may have, in pixels (width × height): a 10000 px square.
 * Workers may be configured lower (CLEARCUT_MAX_OUTPUT_PIXELS), never higher.
 */
export const maxOutputPixels = 100_000_000;
/** The largest total of one image's outputs, in pixels (CLEARCUT_MAX_TASK_OUTPUT_PIXELS may lower it). */
export const maxTaskOutputPixels = 300_000_000;
/** The longest side an option may force on an output by itself: its square is maxOutputPixels. */
export const maxForcedSide = Math.floor(Math.sqrt(maxOutputPixels));

const quality = z.number().int().min(1).max(100).describe('Encoder quality, 1–100 (lossy formats only).');
const maxSize = z
  .number()
  .int()
  .min(16)
  .max(16_384)
  .describe('Longest side of the output in px; larger outputs are scaled down, smaller are left alone.');

/** Several sizes from one inference: each is a maxSize of its own, written to its own key ({size}). */
const sizes = z
  .array(maxSize)
  .min(1)
  .max(8)
  .refine((list) => new Set(list).size === list.length, 'lists a size twice')
  .describe(
    'Longest sides of several outputs of this rendition, each scaled down like maxSize; give sizes or maxSize',
  );

/** Mask post-processing for one rendition, applied to the model's mask before anything else. */
const cleanup = z
  .strictObject({
    threshold: z
      .number()
      .int()
      .min(1)
      .max(255)
      .optional()
      .describe('Alpha ≥ threshold → 255, else 0: a hard mask'),
    removeIslands: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .describe('Remove subject regions (8-connected) of fewer pixels'),
    fillHoles: z
      .boolean()
      .optional()
      .describe('Fill background regions (4-connected) enclosed by the subject'),
  })
  .refine(
    (value) => Object.values(value).some((option) => option !== undefined && option !== false),
    'give threshold, removeIslands or fillHoles',
  )
  .describe('Mask clean-up before rendering; regions are alpha ≥ threshold, or ≥ 128 without one');

/** Edge refinement (docs/inference.md): alpha solved again in a band around the mask's edge. */
const refine = z
  .enum(['edges'], { error: 'expected "edges" (alpha re-solved around the edge), or no refine at all' })
  .describe(
    'edges: alpha re-solved at full resolution in a band around the mask edge (from the colours of the sure subject and backdrop, then a guided filter); absent: the mask as is',
  );

/** Colour decontamination: the subject's own colour where alpha is partial (no halo of the old background). */
const decontaminate = z
  .boolean()
  .describe(
    'Estimate the foreground colour of partly transparent pixels, so no halo of the old background remains',
  );

/** A rendition's own label: `{rendition}` in output keys renders it instead of the kind. */
export const renditionNamePattern = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const name = z
  .string()
  .regex(renditionNamePattern, 'a name of 1–32 lowercase letters, digits, "-" or "_", such as "grey"')
  .describe(
    'Written for {rendition} in output keys instead of the kind (two of one kind and format need one each); unique per job',
  );

/**
 * The most distinct sets of clean-up, refine and decontaminate options one job may use: each set
 * builds a full-resolution cutout of its own (4 bytes per pixel, more while refining), beside the
 * one of the model's mask as is, which is always made (renditions without options are free).
 */
export const maxEditOptionSets = 2;

/** Every rendition's output sizes: one maxSize, or several sizes from the one inference. */
const sizeFields = { maxSize: maxSize.optional(), sizes: sizes.optional() };
/** The mask edits a mask rendition may ask for; the others may also decontaminate colours. */
const maskEditFields = { cleanup: cleanup.optional(), refine: refine.optional() };
const editFields = { ...maskEditFields, decontaminate: decontaminate.optional() };

/** Margin around the subject: whole pixels, or a percentage of the subject box's longer side ("10%"). */
export const marginSchema = z.union([
  z.number().int().min(0).max(4096),
  z
    .string()
    .regex(/^\d{1,2}(\.\d+)?%$/, 'a percentage such as "10%"')
    .describe('Percentage of the subject box'),
]);

export const cutoutRenditionSchema = z.strictObject({
  kind: z.literal('cutout'),
  name: name.optional(),
  format: z.enum(renditionFormats.cutout).default('png'),
  quality: quality.optional(),
  ...sizeFields,
  ...editFields,
});

export const maskRenditionSchema = z.strictObject({
  kind: z.literal('mask'),
  name: name.optional(),
  format: z.literal('png').default('png'),
  ...sizeFields,
  ...maskEditFields,
});

export const whiteRenditionSchema = z.strictObject({
  kind: z.literal('white'),
  name: name.optional(),
  format: z.enum(renditionFormats.white).default('jpeg'),
  quality: quality.optional(),
  ...sizeFields,
  ...editFields,
  /** Marketplace main image: a square canvas with the subject centred, filling `fill` of the frame. */
  square: z.boolean().default(false),
  fill: z.number().min(0.1).max(1).default(0.85),
  minSide: z
    .number()
    .int()
    .min(16)
    .max(maxForcedSide)
    .default(1600)
    .describe('Least side of the square canvas in px (the subject is enlarged when needed)'),
});

export const cropRenditionSchema = z.strictObject({
  kind: z.literal('crop'),
  name: name.optional(),
  format: z.enum(renditionFormats.crop).default('png'),
  quality: quality.optional(),
  ...sizeFields,
  ...editFields,
  margin: marginSchema.default(0),
});

/** The subject on any background (colour, transparent, image), on the source's frame or a canvas. */
export const backgroundRenditionSchema = z.strictObject({
  kind: z.literal('background'),
  name: name.optional(),
  format: z.enum(renditionFormats.background).default('png'),
  quality: quality.optional(),
  ...sizeFields,
  ...editFields,
  background: backgroundSchema.default('#FFFFFF'),
  canvas: canvasSchema.optional().describe('Without it the output keeps the source frame'),
  shadow: shadowSchema.optional(),
});

export const renditionSchema = z.discriminatedUnion('kind', [
  cutoutRenditionSchema,
  maskRenditionSchema,
  whiteRenditionSchema,
  cropRenditionSchema,
  backgroundRenditionSchema,
]);

export const renditionListSchema = z
  .array(renditionSchema)
  .min(1)
  .max(8)
  .superRefine((renditions, ctx) => {
    // Under the default key template an output is <key>.<name or kind>[.<size>].<ext>.
    const names = new Map<string, number>();
    const written = new Map<string, number>();
    for (const [index, rendition] of renditions.entries()) {
      const { kind, format, name } = rendition;
      if (name !== undefined) {
        const first = names.get(name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `renditions[${first}] is already named "${name}": give each rendition its own name`,
          });
          continue;
        }
        names.set(name, index);
      }
      const id = `${name ?? kind}.${format}`;
      const first = written.get(id);
      if (first !== undefined) {
        const other = renditions[first]!;
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message:
            name === undefined && other.name === undefined
              ? `two "${kind}" renditions in ${format} would write the same output; give each a \`name\` (such as "white" and "grey") or its own format`
              : `would write the same output as renditions[${first}] ("${name ?? kind}" in ${format}); give each a \`name\` of its own`,
        });
      }
      written.set(id, index);
    }
    const editSets = new Map<string, number>();
    for (const [index, rendition] of renditions.entries()) {
      const key = editOptionsKey(editOptionsOf(rendition));
      if (key === asIs || editSets.has(key)) continue;
      if (editSets.size === maxEditOptionSets) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `its cleanup, refine and decontaminate options differ from those of renditions[${[...editSets.values()].join('] and [')}]; at most ${maxEditOptionSets} distinct sets of them per job (besides none), as each builds a full-resolution cutout: give renditions the same options, or split the job`,
        });
        break;
      }
      editSets.set(key, index);
    }
    for (const [index, rendition] of renditions.entries()) {
      if (rendition.sizes !== undefined && rendition.maxSize !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'sizes'],
          message: 'give sizes or maxSize, not both (each size is a maxSize)',
        });
      }
      if (rendition.kind === 'background' && rendition.format === 'jpeg') {
        const colour = parseColour(rendition.background);
        if (colour === undefined || colour.alpha < 255) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'background'],
            message: 'JPEG has no alpha: use an opaque colour "#RRGGBB" or "#RGB", or format png or webp',
          });
        }
      }
    }
    let forced = 0;
    for (const [index, rendition] of renditions.entries()) {
      for (const output of outputsOf(rendition)) {
        const pixels = forcedOutputPixels(output.rendition);
        // (A square white's minSide bound keeps it within the per-output cap by itself.)
        if (rendition.kind === 'background' && pixels > maxOutputPixels) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'canvas'],
            message: `forces ${pixels} output pixels, more than the ${maxOutputPixels} allowed per output`,
          });
          return;
        }
        forced += pixels;
      }
      if (forced > maxTaskOutputPixels) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `with the renditions before it, forces at least ${forced} output pixels per image, more than the ${maxTaskOutputPixels} allowed`,
        });
        return;
      }
    }
  })
  .default([{ kind: 'cutout', format: 'png' }]);

export type Rendition = z.output<typeof renditionSchema>;

/** The options of a rendition that change its mask or its cutout's colours. */
export interface EditOptions {
  readonly cleanup?: Rendition['cleanup'];
  readonly refine?: Rendition['refine'];
  readonly decontaminate?: boolean | undefined;
}

/** The edit options of `rendition` (a mask has no colours to decontaminate). */
export function editOptionsOf(rendition: Rendition): EditOptions {
  return {
    cleanup: rendition.cleanup,
    refine: rendition.refine,
    decontaminate: rendition.kind === 'mask' ? undefined : rendition.decontaminate,
  };
}

/**
 * Equal for edit options that give the same mask and cutout colours: what the per-job cap counts
 * and what the renderer builds one cutout for.
 */
export function editOptionsKey({ cleanup, refine, decontaminate }: EditOptions): string {
  return JSON.stringify([cleanup ?? null, refine ?? null, decontaminate === true]);
}
/** The key of a rendition without clean-up, refine or decontaminate: the model's mask as is. */
const asIs = editOptionsKey({});

/** The distinct S3 images the renditions use as backgrounds ("s3://bucket/key" as `url`), in order. */
export function backgroundImages(
  renditions: readonly Rendition[],
): { url: string; bucket: string; key: string }[] {
  const urls = new Set<string>();
  for (const rendition of renditions) {
    if (rendition.kind === 'background' && backgroundImageLocation(rendition.background)) {
      urls.add(rendition.background);
    }
  }
  return [...urls].map((url) => ({ url, ...backgroundImageLocation(url)! }));
}

/** One output of a rendition: the rendition itself, or one of its sizes (as its maxSize). */
export interface RenditionOutputSpec {
  /** Position of the rendition in the job's list. */
  readonly index: number;
  /** The rendition as this output renders it: `maxSize` is the size, `sizes` is gone. */
  readonly rendition: Rendition;
  /** The size asked for, when the rendition lists sizes. */
  readonly size?: number;
}

/** Every output of a rendition list, in order: one per rendition, or one per size. */
export function renditionOutputs(renditions: readonly Rendition[]): RenditionOutputSpec[] {
  return renditions.flatMap((rendition, index) =>
    outputsOf(rendition).map((output) => ({ index, ...output })),
  );
}

function outputsOf(rendition: Rendition): { rendition: Rendition; size?: number }[] {
  if (rendition.sizes === undefined) return [{ rendition }];
  const { sizes, ...single } = rendition;
  return sizes.map((size) => ({ rendition: { ...single, maxSize: size }, size }));
}

/**
 * The output pixels a rendition's options force whatever the source (the square canvas's least
 * side, within maxSize); the rest scales with the source, which only the worker sees.
 */
export function forcedOutputPixels(rendition: Rendition): number {
  if (rendition.kind === 'white' && rendition.square) {
    const side = Math.min(rendition.minSide, rendition.maxSize ?? rendition.minSide);
    return side * side;
  }
  if (rendition.kind === 'background' && rendition.canvas) {
    return forcedCanvasPixels(rendition.canvas, rendition.maxSize);
  }
  return 0;
}

/** A fixed canvas's area (scaled down to maxSize); an aspect canvas's area at its least side. */
function forcedCanvasPixels(canvas: Canvas, maxSize: number | undefined): number {
  const limit = maxSize ?? Number.POSITIVE_INFINITY;
  if (canvas.width !== undefined && canvas.height !== undefined) {
    const scale = Math.min(1, limit / Math.max(canvas.width, canvas.height));
    return Math.round(canvas.width * scale) * Math.round(canvas.height * scale);
  }
  const stretch = Math.max(aspectRatio(canvas.aspect!), 1 / aspectRatio(canvas.aspect!));
  const shorter = Math.min(canvas.minSide ?? 1, limit / stretch);
  return Math.floor(shorter) * Math.floor(shorter * stretch);
}
export type ImageFormat = Rendition['format'];

export const contentTypes: Record<ImageFormat, string> = {
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
};
export type RenditionInput = z.input<typeof renditionSchema>;
export type RenditionKind = Rendition['kind'];

export const renditionKinds = Object.keys(renditionFormats) as RenditionKind[];

/**
 * The command-line shorthand of a rendition list, "kind[:format],...", e.g. "cutout:webp,mask".
 * Returns the items unchecked (the schema names allowed values); throws on a malformed item.
 */
export function parseRenditionShorthand(list: string): { kind: string; format?: string }[] {
  return list.split(',').map((item) => {
    const [kind, format, extra] = item.trim().split(':');
    if (!kind || format === '' || extra !== undefined) {
      throw new Error(`"${item}" is not kind or kind:format (kinds: ${renditionKinds.join(', ')})`);
    }
    return format === undefined ? { kind } : { kind, format };
  });
}
