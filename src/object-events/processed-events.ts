import type { Queryable } from '../db/database.js';

// Store of the object versions (bucket, key, eTag) that already became work: an S3 event is
// delivered at least once, and a repeated one must not make a second job. Per scope: '' for the
// storage system's own queue (every tenant's rules), a tenant id for that tenant's HTTP events.

export interface ObjectVersion {
  readonly bucket: string;
  readonly key: string;
  readonly eTag?: string;
}

export interface ProcessedEvent extends ObjectVersion {
  readonly name: string;
  readonly sequencer?: string;
  /** `<tenant>/<job id>` of each job the event made. */
  readonly jobs: readonly string[];
}

export const versionKey = (e: ObjectVersion) => `${e.bucket}\n${e.key}\n${e.eTag}`;

/** The versionKey of each of `versions` already recorded in `scope`. */
export async function processedVersions(
  q: Queryable,
  scope: string,
  versions: readonly ObjectVersion[],
): Promise<Set<string>> {
  if (versions.length === 0) return new Set();
  const rows = await q.query<{ bucket: string; key: string; etag: string }>(
    `SELECT bucket, key, etag FROM processed_events
     WHERE scope = $4 AND (bucket, key, etag) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
    [versions.map((e) => e.bucket), versions.map((e) => e.key), versions.map((e) => e.eTag), scope],
  );
  return new Set(rows.map((row) => versionKey({ ...row, eTag: row.etag })));
}

export async function recordProcessed(
  q: Queryable,
  scope: string,
  events: readonly ProcessedEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await q.query(
    `INSERT INTO processed_events (scope, bucket, key, etag, event_name, sequencer, jobs)
     SELECT $7, b, k, e, n, s, string_to_array(j, ' ')
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(b, k, e, n, s, j)
     ON CONFLICT DO NOTHING`,
    [
      events.map((e) => e.bucket),
      events.map((e) => e.key),
      events.map((e) => e.eTag),
      events.map((e) => e.name),
      events.map((e) => e.sequencer ?? null),
      events.map((e) => e.jobs.join(' ')),
      scope,
    ],
  );
}
