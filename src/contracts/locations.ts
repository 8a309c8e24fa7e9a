import { z } from 'zod';
import { bucketNameProblem, objectKeyProblem, objectPrefixProblem } from './object-keys.js';

// zod forms of the object-key rules, used by every contract that names a place in S3.

function checked(schema: z.ZodString, problem: (text: string) => string | undefined) {
  return schema.superRefine((text, ctx) => {
    const found = problem(text);
    if (found) ctx.addIssue({ code: 'custom', message: found });
  });
}

export const bucketNameSchema = checked(
  // The pattern is for JSON Schema readers; bucketNameProblem is the full rule and gives the message.
  z.string().meta({
    description: 'S3 bucket name (3–63 lowercase letters, digits, dots, hyphens)',
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  }),
  bucketNameProblem,
);

export const objectKeySchema = checked(
  z
    .string()
    .min(1)
    .describe('Object key, byte-exact; no control characters, no "." or ".." segments, no leading "/"'),
  objectKeyProblem,
);

export const objectPrefixSchema = checked(
  z.string().describe('Key prefix ("" = the whole bucket); the same rules as keys'),
  objectPrefixProblem,
);

export const objectLocationSchema = z.strictObject({ bucket: bucketNameSchema, key: objectKeySchema });
export type ObjectLocation = z.output<typeof objectLocationSchema>;

export const prefixLocationSchema = z.strictObject({ bucket: bucketNameSchema, prefix: objectPrefixSchema });
export type PrefixLocation = z.output<typeof prefixLocationSchema>;
