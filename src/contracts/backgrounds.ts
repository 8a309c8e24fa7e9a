import { z } from 'zod';
import { bucketNameSchema, objectKeySchema } from './locations.js';

// What a `background` rendition puts behind the subject and how it frames it: a colour (with
// alpha), nothing (transparent) or an image from S3; a canvas of fixed size or of an aspect ratio.
// Part of the job wire format.

/** An sRGB colour; alpha 0–255 (255 = opaque). */
export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly alpha: number;
}

const colourPattern = /^#([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})([0-9a-fA-F]{2})?$/;
/** CSS's short forms: each digit stands for itself twice ("#F5F" = "#FF55FF"). */
const shortColourPattern = /^#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])?$/;
const s3Pattern = /^s3:\/\/([^/]+)\/(.+)$/s;

export const transparent: Rgba = { r: 0, g: 0, b: 0, alpha: 0 };

/**
 * "#RRGGBB", "#RRGGBBAA", "#RGB" or "#RGBA" as a colour, "transparent" as alpha 0; undefined for
 * anything else.
 */
export function parseColour(text: string): Rgba | undefined {
  if (text === 'transparent') return transparent;
  const short = shortColourPattern.exec(text);
  const match = short ?? colourPattern.exec(text);
  if (!match) return undefined;
  const [r, g, b, a] = match
    .slice(1)
    .map((hex) => (hex === undefined ? 255 : Number.parseInt(short ? hex + hex : hex, 16)));
  return { r: r!, g: g!, b: b!, alpha: a! };
}

/** The bucket and key of an "s3://bucket/key" background; undefined when it is not one. */
export function backgroundImageLocation(background: string): { bucket: string; key: string } | undefined {
  const match = s3Pattern.exec(background);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

export const backgroundSchema = z
  .string()
  .max(1100)
  .superRefine((text, ctx) => {
    if (parseColour(text)) return;
    const location = backgroundImageLocation(text);
    if (!location) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text.slice(0, 40)}" is not a background: expected a colour "#RRGGBB", "#RGB", "#RRGGBBAA" or "#RGBA", "transparent", or an image "s3://bucket/key"`,
      });
      return;
    }
    for (const [value, schema] of [
      [location.bucket, bucketNameSchema],
      [location.key, objectKeySchema],
    ] as const) {
      const parsed = schema.safeParse(value);
      if (!parsed.success) ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]!.message });
    }
  })
  .describe(
    '"#RRGGBB" or "#RGB", "#RRGGBBAA" or "#RGBA" (alpha), "transparent", or an image "s3://bucket/key" (read grant needed)',
  );

const aspectPattern = /^([1-9]\d{0,2}):([1-9]\d{0,2})$/;

/** "4:5" as width / height; NaN when it is not such a ratio. */
export function aspectRatio(aspect: string): number {
  const match = aspectPattern.exec(aspect);
  return match ? Number(match[1]) / Number(match[2]) : Number.NaN;
}

export const canvasPositions = ['center', 'bottom'] as const;
const side = z.number().int().min(16).max(16_384);

export const canvasSchema = z
  .strictObject({
    width: side.optional().describe('Canvas width in px (with height)'),
    height: side.optional().describe('Canvas height in px (with width)'),
    aspect: z
      .string()
      .regex(aspectPattern, 'a ratio of whole numbers such as "1:1" or "4:5"')
      .refine((text) => {
        const ratio = aspectRatio(text);
        return Number.isNaN(ratio) || (ratio >= 0.1 && ratio <= 10);
      }, 'must be between 1:10 and 10:1')
      .optional()
      .describe('Width:height; the canvas is sized so the subject fills `fill` of it'),
    minSide: side.optional().describe('With aspect: least length of the shorter side in px'),
    fill: z.number().min(0.1).max(1).default(0.85).describe('Share of the canvas the subject box fills'),
    position: z
      .enum(canvasPositions)
      .default('center')
      .describe('center, or bottom: centred across, standing on the lower margin'),
  })
  .superRefine((canvas, ctx) => {
    const fixed = canvas.width !== undefined || canvas.height !== undefined;
    if (fixed && canvas.aspect !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['aspect'],
        message: 'give width and height, or aspect, not both',
      });
    } else if (fixed && (canvas.width === undefined || canvas.height === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give both width and height (or aspect)' });
    } else if (!fixed && canvas.aspect === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give width and height, or aspect' });
    }
    if (fixed && canvas.minSide !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['minSide'],
        message: 'only with aspect (width and height are exact)',
      });
    }
  });

export type Canvas = z.output<typeof canvasSchema>;

export const shadowSchema = z
  .strictObject({
    type: z
      .enum(['drop', 'contact'])
      .default('drop')
      .describe("drop: the subject's own silhouette; contact: an ellipse where it meets the floor"),
    offsetX: z
      .number()
      .int()
      .min(-2000)
      .max(2000)
      .default(0)
      .describe('Shift to the right, in full-size canvas px (scaled with maxSize, sizes)'),
    offsetY: z
      .number()
      .int()
      .min(-2000)
      .max(2000)
      .default(0)
      .describe('Shift down, in full-size canvas px (scaled with maxSize, sizes)'),
    blur: z
      .number()
      .min(0)
      .max(200)
      .default(8)
      .describe('Gaussian sigma in full-size canvas px (scaled with maxSize, sizes); 0 is a hard edge'),
    opacity: z.number().min(0).max(1).default(0.35),
    color: z
      .string()
      .regex(/^#([0-9a-fA-F]{3}){1,2}$/, 'an opaque colour "#RRGGBB" or "#RGB"')
      .default('#000000'),
  })
  .describe('A shadow between background and subject');

export type Shadow = z.output<typeof shadowSchema>;
