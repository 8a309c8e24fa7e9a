import type { Job } from '../contracts/job.js';
import type { Queryable } from '../db/database.js';

// SQL of catalog expansion. A gateway leases one expanding job at a time; every page commits its
// tasks, problems, quota and cursor in one transaction that first checks the cursor it started
// from is still the job's, so two gateways (a lease that ran out) can never list a page twice.

export interface ExpandingJob {
  readonly tenantId: string;
  readonly jobId: string;
  readonly spec: Job;
  readonly lane: 'normal' | 'priority';
  readonly cursor: string | null;
  readonly expandedItems: number;
  readonly skipped: number;
}

const jobColumns = `tenant_id AS "tenantId", id AS "jobId", spec, lane, expansion_cursor AS cursor,
  expanded_items AS "expandedItems", skipped`;

/**
 * Leases the oldest expanding job nobody lists whose tenant has fewer than `backlog` tasks waiting
 * for the dispatcher (listing further would only grow the table, not the throughput).
 */
export async function claimExpandingJob(
  q: Queryable,
  leaseMs: number,
  backlog: number,
): Promise<ExpandingJob | undefined> {
  const [job] = await q.query<ExpandingJob>(
    `UPDATE jobs SET expansion_lease_until = now() + make_interval(secs => $1::double precision / 1000)
     WHERE (tenant_id, id) = (
       SELECT j.tenant_id, j.id FROM jobs j
       WHERE j.state = 'expanding' AND (j.expansion_lease_until IS NULL OR j.expansion_lease_until < now())
         AND NOT EXISTS (SELECT 1 FROM tenant_dispatch d WHERE d.tenant_id = j.tenant_id AND d.pending >= $2)
       ORDER BY j.created_at LIMIT 1 FOR UPDATE SKIP LOCKED
     )
     RETURNING ${jobColumns}`,
    [leaseMs, backlog],
  );
  return job;
}

/** Tasks of the tenant waiting for the dispatcher. */
export async function tenantBacklog(q: Queryable, tenantId: string): Promise<number> {
  const [row] = await q.query<{ pending: number }>(
    'SELECT pending FROM tenant_dispatch WHERE tenant_id = $1',
    [tenantId],
  );
  return row?.pending ?? 0;
}

export async function releaseExpandingJob(q: Queryable, job: Pick<ExpandingJob, 'tenantId' | 'jobId'>) {
  await q.query(`UPDATE jobs SET expansion_lease_until = NULL WHERE tenant_id = $1 AND id = $2`, [
    job.tenantId,
    job.jobId,
  ]);
}

/** The job row locked for this page's transaction; undefined when it no longer expands from `cursor`. */
export async function lockAtCursor(
  tx: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  cursor: string | null,
): Promise<{ expandedItems: number; skipped: number } | undefined> {
  const [row] = await tx.query<{ expandedItems: number; skipped: number }>(
    `SELECT j.expanded_items AS "expandedItems", j.skipped
     FROM jobs j
     WHERE j.tenant_id = $1 AND j.id = $2 AND j.state = 'expanding' AND j.expansion_cursor IS NOT DISTINCT FROM $3
     FOR UPDATE`,
    [job.tenantId, job.jobId, cursor],
  );
  return row;
}

/** Which of these sources already are tasks of the job (an earlier page listed them). */
export async function existingSources(
  tx: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  sources: readonly { bucket: string; key: string }[],
): Promise<Set<string>> {
  if (sources.length === 0) return new Set();
  const rows = await tx.query<{ bucket: string; key: string }>(
    `SELECT source_bucket AS bucket, source_key AS key FROM tasks
     WHERE tenant_id = $1 AND job_id = $2
       AND (source_bucket, source_key) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [job.tenantId, job.jobId, sources.map((s) => s.bucket), sources.map((s) => s.key)],
  );
  return new Set(rows.map(sourceId));
}

export const sourceId = (source: { bucket: string; key: string }) => `${source.bucket}\n${source.key}`;

export interface InputProblem {
  readonly position: number;
  readonly entry: string;
  readonly code: string;
  readonly message: string;
}

export async function insertProblems(
  tx: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  problems: readonly InputProblem[],
): Promise<void> {
  if (problems.length === 0) return;
  await tx.query(
    `INSERT INTO job_input_problems (tenant_id, job_id, position, entry, code, message)
     SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[])
     ON CONFLICT DO NOTHING`,
    [
      job.tenantId,
      job.jobId,
      problems.map((p) => p.position),
      problems.map((p) => p.entry),
      problems.map((p) => p.code),
      problems.map((p) => p.message),
    ],
  );
}

export interface PageRecord {
  /** Null only when the listing ended before its first entry. */
  readonly cursor: string | null;
  readonly created: number;
  readonly skipped: number;
  readonly reservedAt: Date;
  /** The listing is over (input exhausted, or stopped for `truncated`): the total is known. */
  readonly finished: boolean;
  readonly truncated?: { readonly code: string; readonly message: string };
}

/**
 * Advances the job past a page. When the listing is over the job's total becomes known, and a job
 * whose tasks all ended already (or that has none) completes here, as task-completion would.
 */
export async function recordPage(
  tx: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  page: PageRecord,
  leaseMs: number,
): Promise<void> {
  await tx.query(
    `UPDATE jobs SET
       expansion_cursor = $3,
       expanded_items = expanded_items + $4,
       skipped = skipped + $5,
       images_reserved = images_reserved + $4,
       reserved_at = CASE WHEN $4 > 0 THEN $6 ELSE reserved_at END,
       truncated_code = $8,
       truncated_message = $9,
       total = CASE WHEN $7 THEN expanded_items + $4 ELSE total END,
       state = CASE WHEN NOT $7 THEN state
                    WHEN succeeded + failed = expanded_items + $4 THEN 'completed' ELSE 'running' END,
       completed_at = CASE WHEN $7 AND succeeded + failed = expanded_items + $4 THEN now() ELSE completed_at END,
       expansion_lease_until = CASE WHEN $7 THEN NULL
         ELSE now() + make_interval(secs => $10::double precision / 1000) END
     WHERE tenant_id = $1 AND id = $2`,
    [
      job.tenantId,
      job.jobId,
      page.cursor,
      page.created,
      page.skipped,
      page.reservedAt,
      page.finished,
      page.truncated?.code ?? null,
      page.truncated?.message ?? null,
      leaseMs,
    ],
  );
}
