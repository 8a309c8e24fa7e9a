import { z } from 'zod';
import { describeIssues } from '../contracts/issues.js';
import { bucketNameProblem, objectKeyProblem } from '../contracts/object-keys.js';
import type { ObjectEvent } from '../object-events/object-event.js';

// Pure: one Amazon EventBridge event from Amazon S3, as an API destination POSTs it (one event per
// request, the event itself as the body), → the object event it reports. Field names and shapes
// are those of "EventBridge event message structure" in the Amazon S3 User Guide. Objects are
// loose: AWS adds fields (detail.event-version, bucket.aws-generated-tags, ...), and only the
// fields below are read. Unlike S3 notifications, the key is NOT URL-encoded here.

export const objectCreatedType = 'Object Created';

const envelopeSchema = z.looseObject({
  version: z.string().max(16),
  id: z.string().min(1).max(128).describe('UUID of the event; EventBridge keeps it across retries'),
  'detail-type': z.string().min(1).max(128),
  source: z.literal('aws.s3', { error: 'must be "aws.s3" (an Amazon S3 event)' }),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
  time: z.iso.datetime({ error: 'must be an ISO 8601 time such as 2021-11-12T00:00:00Z' }),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'must be an AWS region such as eu-west-1'),
  resources: z.array(z.string().max(2048)).max(20).optional(),
  detail: z.unknown(),
});

const objectCreatedDetailSchema = z.looseObject({
  version: z.string().max(16).optional(),
  bucket: z.looseObject({ name: z.string().min(1).max(255) }),
  object: z.looseObject({
    key: z.string().min(1).max(1024).describe('the object key as stored (not URL-encoded)'),
    size: z.number().int().min(0).optional(),
    etag: z.string().min(1).max(200),
    'version-id': z.string().max(1024).optional(),
    sequencer: z.string().max(200).optional(),
  }),
  'request-id': z.string().max(200).optional(),
  requester: z.string().max(200).optional(),
  'source-ip-address': z.string().max(100).optional(),
  reason: z.string().max(64).optional(),
});

/** detail.reason → the S3 notification event name the rest of ClearCut records. */
const eventNames: Record<string, string> = {
  PutObject: 'ObjectCreated:Put',
  'POST Object': 'ObjectCreated:Post',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
};

export type ParsedEventBridgeEvent =
  | { readonly id: string; readonly event: ObjectEvent }
  /** A well-formed event of another type (Object Deleted, ...): nothing to do. */
  | { readonly id: string; readonly ignored: string }
  | { readonly problems: readonly string[] };

const maxProblems = 10;

export function parseEventBridgeEvent(body: Buffer): ParsedEventBridgeEvent {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    return { problems: [`(body): is not UTF-8 JSON (${(error as Error).message.slice(0, 200)})`] };
  }
  if (Array.isArray(value)) {
    return { problems: ['(body): must be one event object; an API destination sends one event per request'] };
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) return { problems: describeIssues(envelope.error.issues).slice(0, maxProblems) };
  const { id } = envelope.data;
  const type = envelope.data['detail-type'];
  if (type !== objectCreatedType) {
    return {
      id,
      ignored: `detail-type "${type}" is not "${objectCreatedType}": only created objects become jobs (narrow the EventBridge rule's event pattern to it)`,
    };
  }
  const detail = objectCreatedDetailSchema.safeParse(envelope.data.detail);
  if (!detail.success) {
    return { problems: describeIssues(detail.error.issues, ['detail']).slice(0, maxProblems) };
  }
  const { bucket, object, reason } = detail.data;
  const problems = [
    ...withPath('detail.bucket.name', bucketNameProblem(bucket.name)),
    ...withPath('detail.object.key', objectKeyProblem(object.key)),
  ];
  if (problems.length > 0) return { problems };
  return {
    id,
    event: {
      index: 0,
      source: 'aws',
      name: reason === undefined ? 'ObjectCreated:*' : (eventNames[reason] ?? `ObjectCreated:${reason}`),
      created: true,
      bucket: bucket.name,
      key: object.key,
      ...(object.size === undefined ? {} : { size: object.size }),
      eTag: object.etag.replace(/^"(.*)"$/, '$1'),
      ...(object.sequencer === undefined ? {} : { sequencer: object.sequencer }),
    },
  };
}

function withPath(path: string, problem: string | undefined): string[] {
  return problem === undefined ? [] : [`${path}: ${problem}`];
}
