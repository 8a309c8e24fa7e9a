import { z } from 'zod';
import { apiScopes } from './principal.js';

// The wire shapes of the HTTP API's answers. docs/openapi.json is generated from these and the job
// contract (src/contracts/job.ts); test/api/openapi.test.ts checks real answers against it.

/** What a route returns: the wire shape of its schema (the type checker holds routes to the document). */
export type Answer<S extends z.ZodType> = z.output<S>;

const jobId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const instant = z.string().meta({ format: 'date-time' });
const cursor = z
  .string()
  .nullable()
  .meta({ description: 'Pass back as `cursor` for the next page; null on the last page.' });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    reason: z
      .string()
      .meta({ description: 'The stable code (the AMQP rejection reasons, or an HTTP-only one).' }),
    problems: z.array(z.string()).optional(),
    retryAfterSeconds: z.number().int().optional(),
  })
  .meta({ description: 'RFC 9457 problem details.' });

export const jobAcceptedSchema = z.object({
  jobId,
  status: z.literal('accepted'),
  statusUrl: z.string(),
  repeated: z.boolean().meta({ description: 'True when this answers a retry of a job admitted before.' }),
  items: z.number().int().nullable().optional(),
  model: z.string().optional(),
});

export const jobStatusSchema = z.object({
  jobId,
  state: z.enum(['expanding', 'running', 'completed']),
  finalized: z.boolean(),
  total: z.number().int().nullable(),
  listed: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  pending: z.number().int(),
  skipped: z.number().int(),
  truncated: z.object({ code: z.string(), message: z.string() }).nullable(),
  manifestError: z.string().nullable(),
  createdAt: instant,
  completedAt: instant.nullable(),
  resultsManifest: z
    .string()
    .nullable()
    .meta({ description: 's3:// location of the results manifest once written.' }),
  itemsUrl: z.string(),
});

export const jobListSchema = z.object({
  jobs: z.array(
    z.object({
      jobId,
      state: z.enum(['expanding', 'running', 'completed']),
      total: z.number().int().nullable(),
      succeeded: z.number().int(),
      failed: z.number().int(),
      createdAt: instant,
    }),
  ),
  nextCursor: cursor,
});

export const itemListSchema = z.object({
  items: z.array(
    z.object({
      item: z.number().int(),
      source: z.string(),
      status: z.enum(['pending', 'queued', 'succeeded', 'failed']),
      errorCode: z.string().nullable(),
      errorMessage: z.string().nullable(),
    }),
  ),
  nextCursor: cursor,
});

export const usageSchema = z.object({
  tenant: z.string(),
  jobs: z
    .object({ burst: z.number().int(), perMinute: z.number().int(), available: z.number().int() })
    .nullable(),
  images: z.array(
    z.object({
      window: z.enum(['hour', 'day', 'month']),
      used: z.number().int(),
      limit: z.number().int().nullable(),
      remaining: z.number().int().nullable(),
      resetsAt: instant.nullable(),
    }),
  ),
});

export const tokenResponseSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string().meta({ description: `Space-separated, some of: ${apiScopes.join(' ')}` }),
});

export const oauthErrorSchema = z.object({
  error: z.enum(['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope']),
  error_description: z.string(),
});

export const eventAnswerSchema = z
  .object({
    eventId: z.string().meta({ description: "The EventBridge event's id." }),
    outcome: z.enum([
      'accepted',
      'duplicate',
      'ignored_not_created',
      'ignored_own_output',
      'ignored_no_rule',
    ]),
    detail: z.string(),
    jobs: z.array(
      z.object({
        jobId,
        statusUrl: z.string(),
        outcome: z.enum(['accepted', 'repeated', 'rejected']),
        reason: z.string().optional().meta({ description: 'Why a rule’s job was rejected.' }),
      }),
    ),
  })
  .meta({ description: 'What became of one S3 event: one job per matching trigger rule of your tenant.' });
