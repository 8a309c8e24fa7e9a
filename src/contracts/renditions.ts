import { z } from 'zod';

// Renditions: the outputs made from ONE inference of an image. Part of the job wire format.

const quality = z.number().int().min(1).max(100).describe('Encoder quality, 1–100 (lossy formats only).');
const maxSize = z
  .number()
  .int()
  .min(16)
  .max(16_384)
  .describe('Longest side of the output in px; larger outputs are scaled down, smaller are left alone.');

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
  format: z.enum(['png', 'webp']).default('png'),
  quality: quality.optional(),
  maxSize: maxSize.optional(),
});

export const maskRenditionSchema = z.strictObject({
  kind: z.literal('mask'),
  format: z.literal('png').default('png'),
  maxSize: maxSize.optional(),
});

export const whiteRenditionSchema = z.strictObject({
  kind: z.literal('white'),
  format: z.enum(['jpeg', 'png', 'webp']).default('jpeg'),
  quality: quality.optional(),
  maxSize: maxSize.optional(),
  /** Marketplace main image: a square canvas with the subject centred, filling `fill` of the frame. */
  square: z.boolean().default(false),
  fill: z.number().min(0.1).max(1).default(0.85),
  minSide: z.number().int().min(16).max(16_384).default(1600),
});

export const cropRenditionSchema = z.strictObject({
  kind: z.literal('crop'),
  format: z.enum(['png', 'webp']).default('png'),
  quality: quality.optional(),
  maxSize: maxSize.optional(),
  margin: marginSchema.default(0),
});

export const renditionSchema = z.discriminatedUnion('kind', [
  cutoutRenditionSchema,
  maskRenditionSchema,
  whiteRenditionSchema,
  cropRenditionSchema,
]);

export const renditionListSchema = z
  .array(renditionSchema)
  .min(1)
  .max(8)
  .default([{ kind: 'cutout', format: 'png' }]);

export type Rendition = z.output<typeof renditionSchema>;
export type RenditionInput = z.input<typeof renditionSchema>;
export type RenditionKind = Rendition['kind'];
