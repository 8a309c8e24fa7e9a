import { z } from 'zod';
import {
  itemIndexSchema,
  jobIdSchema,
  keyIdSchema,
  modelNameSchema,
  taskIdSchema,
  tenantIdSchema,
} from './identifiers.js';
import { itemErrorMessageMax } from './item-errors.js';
import { jobMetadataSchema } from './job.js';
import { objectLocationSchema } from './locations.js';
import { rejectionReasons } from './reasons.js';
import { type RenditionKind, renditionKinds, renditionNamePattern } from './renditions.js';

// Result events on the topic exchange `<prefix>.results`, routing key `<tenant>.<job id>.<kind>`
// (DESIGN §3.3; src/queue/topology.ts builds the key, `_` standing for an unknown tenant or job id). Receivers must ignore fields they do not know: new optional fields may be added
// within a version.

export const resultEventContractVersion = 1;
export const resultKinds = [
  'accepted',
  'rejected',
  'item.succeeded',
  'item.failed',
  'job.completed',
] as const;
export type ResultKind = (typeof resultKinds)[number];

const common = {
  version: z.literal(resultEventContractVersion),
  eventId: z.string().min(1).max(128).describe('Unique per event; a redelivered copy has the same id'),
  at: z.iso.datetime().describe('When the decision or outcome happened (UTC, ISO 8601)'),
};

const owner = {
  tenant: tenantIdSchema,
  jobId: jobIdSchema,
};

const errorSchema = z.object({
  code: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,63}$/)
    .describe('Stable machine code, e.g. not_found, access_denied, too_large, unsupported_format'),
  message: z.string().max(itemErrorMessageMax).describe('What went wrong, for humans'),
});

export const acceptedEventSchema = z.object({
  ...common,
  kind: z.literal('accepted'),
  ...owner,
  keyId: keyIdSchema.nullable().describe('Null for jobs made by a storage trigger rule'),
  items: z
    .number()
    .int()
    .min(0)
    .nullable()
    .describe('Number of items; null while a prefix or manifest is expanding'),
  model: modelNameSchema,
  metadata: jobMetadataSchema.optional(),
});

export const rejectedEventSchema = z.object({
  ...common,
  kind: z.literal('rejected'),
  tenant: tenantIdSchema.nullable().describe('Null when the key is unknown'),
  jobId: jobIdSchema.nullable().describe('Null when the message_id is missing or malformed'),
  keyId: z.string().max(200).nullable().describe('The key id as sent, when it could be read'),
  reason: z.enum(rejectionReasons),
  message: z.string().max(2000).describe('What was wrong and what to do, for humans'),
  problems: z.array(z.string().max(1000)).max(50).optional().describe('invalid_body: one line per problem'),
  retryAfterSeconds: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('rate_limited, quota_exceeded: seconds until a retry can succeed'),
  metadata: jobMetadataSchema.optional(),
});

const renditionKindSchema = z.enum(renditionKinds as [RenditionKind, ...RenditionKind[]]);

const outputSchema = z.object({
  rendition: renditionKindSchema,
  name: z
    .string()
    .regex(renditionNamePattern)
    .optional()
    .describe("The rendition's name, when the job gave it one"),
  size: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Which of the rendition's sizes this output is (its longest side at most this), when it lists sizes",
    ),
  bucket: z.string(),
  key: z.string(),
  contentType: z.string(),
  bytes: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  syntheticModel: z
    .literal(true)
    .optional()
    .describe('Present (true) only when a synthetic stand-in model made it: its mask is meaningless'),
});

/** What `tasks.outputs` holds for a succeeded item: the outputs its result event names. */
export const taskOutputListSchema = z.array(outputSchema);

export const itemSucceededEventSchema = z.object({
  ...common,
  kind: z.literal('item.succeeded'),
  ...owner,
  taskId: taskIdSchema,
  item: itemIndexSchema,
  source: objectLocationSchema,
  outputs: z.array(outputSchema).min(1),
  attempt: z.number().int().min(1),
  metadata: jobMetadataSchema.optional(),
});

export const itemFailedEventSchema = z.object({
  ...common,
  kind: z.literal('item.failed'),
  ...owner,
  taskId: taskIdSchema,
  item: itemIndexSchema,
  source: objectLocationSchema,
  error: errorSchema,
  attempt: z.number().int().min(1),
  metadata: jobMetadataSchema.optional(),
});

export const jobCompletedEventSchema = z.object({
  ...common,
  kind: z.literal('job.completed'),
  ...owner,
  total: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  manifest: objectLocationSchema.nullable().describe('The results manifest (JSONL), when one was written'),
  metadata: jobMetadataSchema.optional(),
});

export const resultEventSchema = z.discriminatedUnion('kind', [
  acceptedEventSchema,
  rejectedEventSchema,
  itemSucceededEventSchema,
  itemFailedEventSchema,
  jobCompletedEventSchema,
]);

export type ResultEvent = z.output<typeof resultEventSchema>;
export type ResultEventInput = z.input<typeof resultEventSchema>;
