import { z } from 'zod';
import { modelNameSchema } from './identifiers.js';
import { describeIssues } from './issues.js';
import {
  bucketNameSchema,
  objectKeySchema,
  objectLocationSchema,
  prefixLocationSchema,
} from './locations.js';
import {
  defaultOutputKeyTemplate,
  defaultSizedOutputKeyTemplate,
  outputKeyFor,
  outputKeyTemplateProblem,
} from './output-keys.js';
import { renditionListSchema, renditionOutputs } from './renditions.js';
import { hasUnpairedSurrogate } from './storable-text.js';

// The job body a producer publishes to `<prefix>.jobs` (DESIGN §3.1). Tenant-free: the tenant is
// the owner of the signing key. Strict objects everywhere: an unknown field is a mistake to report,
// not to ignore (a misspelt "renditons" would otherwise silently produce the default output).

export const jobContractVersion = 1;
export const maxKeysPerJob = 1000;
export const maxMetadataBytes = 4096;

const singleInput = objectLocationSchema.describe('One object');

const listInput = z
  .strictObject({
    bucket: bucketNameSchema,
    keys: z.array(objectKeySchema).min(1).max(maxKeysPerJob),
  })
  .superRefine(({ keys }, ctx) => {
    const seen = new Map<string, number>();
    keys.forEach((key, index) => {
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else ctx.addIssue({ code: 'custom', path: ['keys', index], message: `repeats keys[${first}]` });
    });
  })
  .describe(`Up to ${maxKeysPerJob} objects of one bucket (use a manifest for more)`);

const prefixInput = prefixLocationSchema.describe('Every object under a prefix, listed by the gateway');

const manifestInput = z
  .strictObject({
    manifest: z.strictObject({
      bucket: bucketNameSchema,
      key: objectKeySchema,
      format: z
        .enum(['jsonl', 'csv'])
        .optional()
        .describe('Defaults from the extension: .jsonl/.ndjson → jsonl, .csv → csv'),
    }),
  })
  .describe('A JSONL or CSV object listing the source objects, streamed');

export const jobInputSchema = z.union([singleInput, listInput, prefixInput, manifestInput], {
  error: 'input must be one of {bucket,key}, {bucket,keys}, {bucket,prefix} or {manifest:{bucket,key}}',
});

/**
 * Where a JSON value holds text PostgreSQL cannot store (a NUL or an unpaired surrogate, in a key
 * or a string) and what, or undefined.
 */
function unstorableText(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; problem: string } | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return { path, problem: 'holds a NUL character (\\u0000)' };
    return hasUnpairedSurrogate(value) ? { path, problem: 'holds an unpaired UTF-16 surrogate' } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const inKey = unstorableText(key, path);
    if (inKey) return { path, problem: `a key ${inKey.problem}` };
    const found = unstorableText(inner, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return undefined;
}

export const jobMetadataSchema = z
  .record(z.string().min(1).max(128), z.json())
  .superRefine((metadata, ctx) => {
    const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
    if (bytes > maxMetadataBytes) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at most ${maxMetadataBytes} bytes as JSON (got ${bytes})`,
      });
    }
    const unstorable = unstorableText(metadata);
    if (unstorable !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: unstorable.path,
        message: `${unstorable.problem}, which PostgreSQL cannot store: remove it`,
      });
    }
  })
  .describe(`Producer's own JSON object (≤ ${maxMetadataBytes} bytes), echoed in result events`);

export const outputKeyTemplateSchema = z
  .string()
  .superRefine((template, ctx) => {
    const problem = outputKeyTemplateProblem(template);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    `Output key after the prefix; placeholders {key} {dir} {name} {rendition} {size} {ext}; default "${defaultOutputKeyTemplate}" ("${defaultSizedOutputKeyTemplate}" for a rendition with sizes)`,
  );

export const jobPrioritySchema = z
  .enum(['normal', 'high'])
  .describe('high uses the priority lane if the tier allows');

export const jobSchema = z
  .strictObject({
    version: z.literal(jobContractVersion),
    input: jobInputSchema,
    output: prefixLocationSchema,
    renditions: renditionListSchema,
    model: modelNameSchema.optional(),
    priority: jobPrioritySchema.optional(),
    metadata: jobMetadataSchema.optional(),
    outputKeyTemplate: outputKeyTemplateSchema.optional(),
  })
  .superRefine((job, ctx) => {
    // A template can make two renditions write one object (the default template cannot: the
    // rendition list already refuses two of the same name or kind and format).
    if (job.outputKeyTemplate === undefined || outputKeyTemplateProblem(job.outputKeyTemplate)) return;
    if (!job.outputKeyTemplate.includes('{size}')) {
      const sized = job.renditions.findIndex((rendition) => rendition.sizes !== undefined);
      if (sized >= 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['renditions', sized, 'sizes'],
          message: 'would write every size to one key under outputKeyTemplate: add {size} to it',
        });
        return;
      }
    }
    const written = new Map<string, number>();
    for (const { index, rendition, size } of renditionOutputs(job.renditions)) {
      const key = outputKeyFor({
        prefix: '',
        template: job.outputKeyTemplate,
        sourceKey: 'dir/item.jpg',
        rendition,
        size,
      });
      const first = written.get(key);
      if (first === undefined) written.set(key, index);
      else if (first !== index) {
        ctx.addIssue({
          code: 'custom',
          path: ['renditions', index],
          message: `writes the same output key as renditions[${first}] under outputKeyTemplate: add {rendition} and {ext} to it`,
        });
      }
    }
  });

export type Job = z.output<typeof jobSchema>;
/** What a producer writes: defaults (renditions) may be left out. */
export type JobInput = z.input<typeof jobSchema>;
export type JobSource = Job['input'];

export type ParsedJob = { ok: true; job: Job } | { ok: false; problems: string[] };

/** Reads a job body exactly as received: strict UTF-8, JSON, then the schema. Never throws. */
export function parseJobBody(body: Buffer): ParsedJob {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, problems: ['(body): is not valid UTF-8'] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`(body): is not JSON (${(error as Error).message})`] };
  }
  return parseJob(value);
}

export function parseJob(value: unknown): ParsedJob {
  const parsed = jobSchema.safeParse(value);
  return parsed.success
    ? { ok: true, job: parsed.data }
    : { ok: false, problems: describeIssues(parsed.error.issues) };
}

/** Which kind of input a job names, for the gateway's fan-out. */
export function jobInputKind(input: JobSource): 'object' | 'list' | 'prefix' | 'manifest' {
  if ('manifest' in input) return 'manifest';
  if ('keys' in input) return 'list';
  if ('prefix' in input) return 'prefix';
  return 'object';
}
