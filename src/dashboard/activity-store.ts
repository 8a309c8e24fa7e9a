import type { Queryable } from '../db/database.js';
import type { JobProgress } from '../jobs/job-progress.js';

// The dashboard's own reads: images finished per hour and day (the usage charts), tenants by
// usage, rejections by reason over time, a page of jobs' progress, and when each key was last used. Buckets are UTC.

export interface Bucket {
  /** Start of the hour or day, UTC. */
  readonly start: Date;
  readonly images: number;
}

export type Resolution = 'hour' | 'day';
const spans: Record<Resolution, { count: number; step: string }> = {
  hour: { count: 24, step: '1 hour' },
  day: { count: 30, step: '1 day' },
};

/** Images (tasks succeeded or failed) finished in each of the last 24 hours or 30 days, oldest first. */
export async function imagesFinished(
  q: Queryable,
  tenantId: string,
  resolution: Resolution,
  now: Date,
): Promise<Bucket[]> {
  const { count, step } = spans[resolution];
  const rows = await q.query<{ start: Date; images: string }>(
    `WITH buckets AS (
       SELECT generate_series(
         date_trunc($2, $3::timestamptz AT TIME ZONE 'UTC') - ($4::int - 1) * $5::interval,
         date_trunc($2, $3::timestamptz AT TIME ZONE 'UTC'), $5::interval) AS start)
     SELECT b.start AT TIME ZONE 'UTC' AS start, count(t.id) AS images
     FROM buckets b
     LEFT JOIN tasks t ON t.tenant_id = $1 AND t.finished_at IS NOT NULL
       AND t.finished_at >= b.start AT TIME ZONE 'UTC'
       AND t.finished_at < (b.start + $5::interval) AT TIME ZONE 'UTC'
     GROUP BY b.start ORDER BY b.start`,
    [tenantId, resolution, now, count, step],
  );
  return rows.map((row) => ({ start: row.start, images: Number(row.images) }));
}

export interface TenantActivity {
  readonly tenantId: string;
  readonly tier: string;
  readonly lastDay: number;
  readonly lastMonth: number;
  readonly failedLastMonth: number;
  readonly jobsRunning: number;
}

/**
 * The `limit` busiest tenants by images finished over the last 30 days (then 24 hours), and how
 * many tenants there are: one pass over the month's tasks and the open jobs, grouped by tenant.
 */
export async function tenantsByUsage(
  q: Queryable,
  now: Date,
  limit: number,
): Promise<{ tenants: TenantActivity[]; total: number }> {
  const rows = await q.query<{
    tenantId: string;
    tier: string;
    lastDay: string;
    lastMonth: string;
    failedLastMonth: string;
    jobsRunning: string;
    total: string;
  }>(
    `WITH usage AS (
       SELECT tenant_id,
              count(*) FILTER (WHERE finished_at >= $1::timestamptz - interval '1 day') AS last_day,
              count(*) AS last_month,
              count(*) FILTER (WHERE status = 'failed') AS failed
       FROM tasks WHERE finished_at >= $1::timestamptz - interval '30 days'
       GROUP BY tenant_id
     ), open_jobs AS (
       SELECT tenant_id, count(*) AS running FROM jobs WHERE state <> 'completed' GROUP BY tenant_id
     )
     SELECT t.id AS "tenantId", t.tier,
            COALESCE(u.last_day, 0) AS "lastDay", COALESCE(u.last_month, 0) AS "lastMonth",
            COALESCE(u.failed, 0) AS "failedLastMonth", COALESCE(o.running, 0) AS "jobsRunning",
            count(*) OVER () AS total
     FROM tenants t
     LEFT JOIN usage u ON u.tenant_id = t.id
     LEFT JOIN open_jobs o ON o.tenant_id = t.id
     ORDER BY "lastMonth" DESC, "lastDay" DESC, t.id
     LIMIT $2`,
    [now, limit],
  );
  return {
    tenants: rows.map((row) => ({
      tenantId: row.tenantId,
      tier: row.tier,
      lastDay: Number(row.lastDay),
      lastMonth: Number(row.lastMonth),
      failedLastMonth: Number(row.failedLastMonth),
      jobsRunning: Number(row.jobsRunning),
    })),
    total: rows.length === 0 ? 0 : Number(rows[0]!.total),
  };
}

export interface JobCounts {
  readonly state: JobProgress['state'];
  readonly total: number | null;
  readonly listed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly finalized: boolean;
}

/** What the progress bars of a page of the tenant's jobs need, in one query. */
export async function jobsProgress(
  q: Queryable,
  tenantId: string,
  jobIds: readonly string[],
): Promise<Map<string, JobCounts>> {
  if (jobIds.length === 0) return new Map();
  const rows = await q.query<JobCounts & { jobId: string }>(
    `SELECT id AS "jobId", state, total, COALESCE(total, expanded_items) AS listed, succeeded, failed,
            finalized_at IS NOT NULL AS finalized
     FROM jobs WHERE tenant_id = $1 AND id = ANY($2::text[])`,
    [tenantId, jobIds],
  );
  return new Map(rows.map(({ jobId, ...counts }) => [jobId, counts]));
}

export interface RejectionCount {
  /** Start of the UTC day. */
  readonly day: Date;
  readonly reason: string;
  readonly count: number;
}

/** Rejected jobs and events per day and reason over the last `days` days (audit rows count many). */
export async function rejectionsByDay(q: Queryable, now: Date, days: number): Promise<RejectionCount[]> {
  const rows = await q.query<{ day: Date; reason: string; count: string }>(
    `SELECT date_trunc('day', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day,
            COALESCE(reason, 'unknown') AS reason, sum(count) AS count
     FROM audit_log
     WHERE outcome = 'rejected'
       AND at >= (date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') - ($2::int - 1) * interval '1 day') AT TIME ZONE 'UTC'
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [now, days],
  );
  return rows.map((row) => ({ day: row.day, reason: row.reason, count: Number(row.count) }));
}

/** When each of the tenant's keys last signed a job that passed, or got an access token (audit log). */
export async function keysLastUsed(q: Queryable, tenantId: string): Promise<Map<string, Date>> {
  const rows = await q.query<{ keyId: string; at: Date }>(
    `SELECT key_id AS "keyId", max(at) AS at FROM audit_log
     WHERE tenant_id = $1 AND key_id IS NOT NULL AND outcome IN ('accepted', 'duplicate', 'token.issued')
     GROUP BY key_id`,
    [tenantId],
  );
  return new Map(rows.map((row) => [row.keyId, row.at]));
}
