// The messages and schemas of docs/asyncapi.yaml: JSON Schemas that zod makes of the contracts
// (src/contracts/, src/worker/dead-letters.ts), so the document follows every change.
import { z } from 'zod';
import { keyIdPattern } from '../../src/contracts/identifiers.js';
import { jobSchema } from '../../src/contracts/job.js';
import {
  acceptedEventSchema,
  itemFailedEventSchema,
  itemSucceededEventSchema,
  jobCompletedEventSchema,
  rejectedEventSchema,
} from '../../src/contracts/result-event.js';
import {
  s3EventMessageSchema,
  s3EventRecordSchema,
  s3TestEventSchema,
} from '../../src/contracts/s3-event.js';
import { taskSchema } from '../../src/contracts/task.js';
import { taskLaneRoutingKeys } from '../../src/queue/topology.js';
import { noncePattern, timestampPattern } from '../../src/signing/headers.js';
import { deadLetterHeaders } from '../../src/worker/dead-letters.js';

// The signing headers (the patterns are the gateway's, src/signing/).
const jobHeadersSchema = z
  .object({
    'cc-key-id': z.string().regex(keyIdPattern).describe('Signing key id; names the tenant'),
    'cc-timestamp': z.string().regex(timestampPattern).describe('Unix seconds when signed, as a string'),
    'cc-nonce': z.string().regex(noncePattern).describe('≥128 random bits, base64url; never reused by a key'),
    'cc-signature': z
      .string()
      .regex(/^(v1=[0-9a-f]{64}|v2=[A-Za-z0-9_-]{86})$/)
      .describe('v1=<hex HMAC-SHA256> or v2=<base64url Ed25519> of the canonical string'),
  })
  .describe('AMQP headers of a job message (docs/protocol.md §2.2)');

// What the worker adds to a task it dead-letters (the body stays the task as it arrived).
const deadLetterHeadersSchema = z
  .object({
    [deadLetterHeaders.code]: z.string().describe('Error code of the last failure'),
    [deadLetterHeaders.message]: z.string().max(2000).describe('Error message of the last failure'),
    [deadLetterHeaders.attempts]: z.number().int().min(0).describe('Attempts made'),
    [deadLetterHeaders.lane]: z.enum(Object.keys(taskLaneRoutingKeys) as [string, ...string[]]),
    [deadLetterHeaders.at]: z.iso.datetime().describe('When the task was dead-lettered'),
  })
  .describe('AMQP headers of a dead-lettered task (`clearcut dlq` reads them)');

/** Name → zod schema and which side of its transforms to describe (jobs as producers write them). */
export const schemaSources = {
  Job: { schema: jobSchema, io: 'input' },
  JobHeaders: { schema: jobHeadersSchema, io: 'input' },
  S3EventMessage: { schema: s3EventMessageSchema, io: 'input' },
  S3EventRecord: { schema: s3EventRecordSchema, io: 'input' },
  S3TestEvent: { schema: s3TestEventSchema, io: 'input' },
  Task: { schema: taskSchema, io: 'output' },
  DeadLetterHeaders: { schema: deadLetterHeadersSchema, io: 'output' },
  AcceptedEvent: { schema: acceptedEventSchema, io: 'output' },
  RejectedEvent: { schema: rejectedEventSchema, io: 'output' },
  ItemSucceededEvent: { schema: itemSucceededEventSchema, io: 'output' },
  ItemFailedEvent: { schema: itemFailedEventSchema, io: 'output' },
  JobCompletedEvent: { schema: jobCompletedEventSchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;
export type SchemaName = keyof typeof schemaSources;

/** The JSON Schema (draft-07, AsyncAPI's default schema dialect) zod makes for one contract. */
export function contractJsonSchema(name: SchemaName): Record<string, unknown> {
  const { schema, io } = schemaSources[name];
  return z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
}

export const schemaPointer = (name: SchemaName) => `#/components/schemas/${name}`;

/** Every schema at its place in the document: its local `#/definitions/…` refs point there. */
export function componentSchemas(): Record<SchemaName, unknown> {
  const entries = (Object.keys(schemaSources) as SchemaName[]).map((name) => {
    const text = JSON.stringify(contractJsonSchema(name)).replaceAll(
      '"$ref":"#/',
      `"$ref":"${schemaPointer(name)}/`,
    );
    return [name, JSON.parse(text)] as const;
  });
  return Object.fromEntries(entries) as Record<SchemaName, unknown>;
}

export const amqpBindingVersion = '0.3.0';

export const resultMessages = [
  ['resultAccepted', 'accepted', 'AcceptedEvent', 'The gateway admitted the job.'],
  ['resultRejected', 'rejected', 'RejectedEvent', 'The gateway refused the job; `reason` is a stable code.'],
  ['resultItemSucceeded', 'item.succeeded', 'ItemSucceededEvent', 'One image was processed.'],
  ['resultItemFailed', 'item.failed', 'ItemFailedEvent', 'One image failed for good.'],
  ['resultJobCompleted', 'job.completed', 'JobCompletedEvent', 'Every item of the job ended.'],
] as const;

const ref = ($ref: string) => ({ $ref });
const schema = (name: SchemaName) => ref(schemaPointer(name));

function message(title: string, summary: string, payload: unknown, extra: Record<string, unknown> = {}) {
  return {
    title,
    summary,
    contentType: 'application/json',
    payload,
    bindings: { amqp: { contentEncoding: 'utf-8', bindingVersion: amqpBindingVersion } },
    ...extra,
  };
}

export function componentMessages(): Record<string, unknown> {
  return {
    job: message(
      'Signed job',
      'A job body; AMQP message_id = the job id (idempotency key), content_type application/json, persistent.',
      schema('Job'),
      { headers: schema('JobHeaders') },
    ),
    s3Event: message(
      'S3 event notification',
      "MinIO's (eventSource minio:s3, top-level EventName and Key) or AWS's (aws:s3) records; keys are URL-query-escaped. Only ObjectCreated:* act.",
      { allOf: [schema('S3EventMessage'), { properties: { Records: { items: schema('S3EventRecord') } } }] },
    ),
    s3TestEvent: message(
      'S3 test event',
      'What AWS sends once when a notification is configured; ignored.',
      schema('S3TestEvent'),
    ),
    task: message(
      'Task',
      'One image of an admitted job; AMQP message_id = the task id (workers deduplicate by it).',
      schema('Task'),
    ),
    deadLetter: message(
      'Dead-lettered task',
      'The task as it arrived, with the last error in headers.',
      schema('Task'),
      {
        headers: schema('DeadLetterHeaders'),
      },
    ),
    ...Object.fromEntries(
      resultMessages.map(([name, kind, payload, summary]) => [
        name,
        message(
          `Result event: ${kind}`,
          `${summary} AMQP message_id = eventId (consumers deduplicate by it).`,
          schema(payload),
        ),
      ]),
    ),
  };
}
