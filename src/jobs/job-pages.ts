import { messageIdPattern } from '../contracts/identifiers.js';
import type { Queryable } from '../db/database.js';

// Paged read side of a tenant's jobs and their items (GET /v1/jobs, GET /v1/jobs/{id}/items).
// Cursors are opaque to callers: base64url JSON of the last row's sort key.

export const jobStates = ['expanding', 'running', 'completed'] as const;
export type JobState = (typeof jobStates)[number];
export const itemStatuses = ['pending', 'queued', 'succeeded', 'failed'] as const;
export type ItemStatus = (typeof itemStatuses)[number];

export interface Page<T> {
  readonly entries: T[];
  /** Give it back as `cursor` for the next page; null on the last page. */
  readonly next: string | null;
}

export interface JobSummary {
  readonly jobId: string;
  readonly state: JobState;
  readonly total: number | null;
  readonly succeeded: number;
  readonly failed: number;
  readonly createdAt: Date;
}

export interface ItemRow {
  readonly item: number;
  readonly source: string;
  readonly status: ItemStatus;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key a cursor holds, when it is one this API made with `shape` (else undefined). */
export function decodeCursor<T extends readonly unknown[]>(
  cursor: string,
  shape: (value: unknown) => value is T,
): T | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return shape(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The sort key of a job listing's cursor: creation time (UTC, microseconds) and job id. */
export const isJobCursor = (v: unknown): v is [string, string] =>
  Array.isArray(v) &&
  v.length === 2 &&
  typeof v[0] === 'string' &&
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/.test(v[0]) &&
  typeof v[1] === 'string' &&
  messageIdPattern.test(v[1]);

/** The sort key of an item listing's cursor: the item number. */
export const isItemCursor = (v: unknown): v is [number] =>
  Array.isArray(v) && v.length === 1 && Number.isSafeInteger(v[0]) && (v[0] as number) >= 0;

export async function listJobs(
  q: Queryable,
  tenantId: string,
  filter: { state?: JobState; after?: readonly [string, string]; limit: number },
): Promise<Page<JobSummary>> {
  const rows = await q.query<JobSummary & { at: string }>(
    `SELECT id AS "jobId", state, total, succeeded, failed, created_at AS "createdAt",
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at
     FROM jobs
     WHERE tenant_id = $1 AND ($2::text IS NULL OR state = $2)
       AND ($3::text IS NULL OR (created_at, id) < ($3::timestamp AT TIME ZONE 'UTC', $4::text))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [tenantId, filter.state ?? null, filter.after?.[0] ?? null, filter.after?.[1] ?? null, filter.limit + 1],
  );
  const entries = rows.slice(0, filter.limit);
  const last = entries.at(-1);
  return {
    entries: entries.map(({ at: _, ...job }) => job),
    next: rows.length > filter.limit && last ? encodeCursor([last.at, last.jobId]) : null,
  };
}

export async function listItems(
  q: Queryable,
  ref: { tenantId: string; jobId: string },
  filter: { status?: ItemStatus; after?: number; limit: number },
): Promise<Page<ItemRow>> {
  const rows = await q.query<ItemRow>(
    `SELECT item, 's3://' || source_bucket || '/' || source_key AS source, status,
            error_code AS "errorCode", error_message AS "errorMessage"
     FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND ($3::text IS NULL OR status = $3) AND item > $4
     ORDER BY item LIMIT $5`,
    [ref.tenantId, ref.jobId, filter.status ?? null, filter.after ?? -1, filter.limit + 1],
  );
  const entries = rows.slice(0, filter.limit);
  const last = entries.at(-1);
  return { entries, next: rows.length > filter.limit && last ? encodeCursor([last.item]) : null };
}
