import { describeIssues } from '../contracts/issues.js';
import { bucketNameProblem, objectKeyProblem } from '../contracts/object-keys.js';
import { s3EventMessageSchema, s3EventRecordSchema, s3TestEventSchema } from '../contracts/s3-event.js';
import type { ObjectEvent } from '../object-events/object-event.js';

// Pure: one message from the events inbox → the object events it reports, normalised (key
// decoded, event name without MinIO's "s3:" prefix), plus a problem list for each record that
// cannot be read. Never throws: a storage system's bad message is audited, not a crash.

export interface MalformedRecord {
  /** Record index, or undefined when the message as a whole is unreadable. */
  readonly index?: number;
  readonly problems: readonly string[];
  /** What could be read of the record, for the audit row. */
  readonly bucket?: string;
  readonly key?: string;
}

export interface ParsedEventMessage {
  readonly events: readonly ObjectEvent[];
  readonly malformed: readonly MalformedRecord[];
  /** AWS's s3:TestEvent: nothing to do, nothing wrong. */
  readonly test: boolean;
}

const maxProblems = 10;

export function parseEventMessage(body: Buffer): ParsedEventMessage {
  const whole = (problem: string): ParsedEventMessage => ({
    events: [],
    malformed: [{ problems: [problem] }],
    test: false,
  });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    return whole(`(body): is not UTF-8 JSON (${(error as Error).message.slice(0, 200)})`);
  }
  if (s3TestEventSchema.safeParse(value).success) return { events: [], malformed: [], test: true };
  const message = s3EventMessageSchema.safeParse(value);
  if (!message.success) {
    return whole(describeIssues(message.error.issues).slice(0, maxProblems).join('; '));
  }
  const events: ObjectEvent[] = [];
  const malformed: MalformedRecord[] = [];
  message.data.Records.forEach((record, index) => {
    const read = readRecord(record, index);
    if ('problems' in read) malformed.push(read);
    else events.push(read);
  });
  return { events, malformed, test: false };
}

function readRecord(value: unknown, index: number): ObjectEvent | MalformedRecord {
  const parsed = s3EventRecordSchema.safeParse(value);
  if (!parsed.success) {
    return { index, problems: describeIssues(parsed.error.issues, ['Records', index]).slice(0, maxProblems) };
  }
  const record = parsed.data;
  const bucket = record.s3.bucket.name;
  const at = `Records[${index}]`;
  const key = decodeEventKey(record.s3.object.key);
  const problems: string[] = [];
  const bucketProblem = bucketNameProblem(bucket);
  if (bucketProblem) problems.push(`${at}.s3.bucket.name: ${bucketProblem}`);
  if (key === undefined) problems.push(`${at}.s3.object.key: is not valid URL-query escaping`);
  else {
    const keyProblem = objectKeyProblem(key);
    if (keyProblem) problems.push(`${at}.s3.object.key: ${keyProblem}`);
  }
  const name = record.eventName.replace(/^s3:/, '');
  const created = name.startsWith('ObjectCreated:');
  const eTag = record.s3.object.eTag?.replace(/^"(.*)"$/, '$1');
  if (created && !eTag) problems.push(`${at}.s3.object.eTag: is required on ObjectCreated events`);
  if (problems.length > 0) return { index, problems, bucket, ...(key === undefined ? {} : { key }) };
  return {
    index,
    source: record.eventSource === 'minio:s3' ? 'minio' : 'aws',
    name,
    created,
    bucket,
    key: key!,
    ...(record.s3.object.size === undefined ? {} : { size: record.s3.object.size }),
    ...(eTag ? { eTag } : {}),
    ...(record.s3.object.sequencer === undefined ? {} : { sequencer: record.s3.object.sequencer }),
  };
}

/** S3 event keys are URL-query-escaped: "+" is a space, "%2F" a slash. Undefined if malformed. */
export function decodeEventKey(escaped: string): string | undefined {
  try {
    return decodeURIComponent(escaped.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
