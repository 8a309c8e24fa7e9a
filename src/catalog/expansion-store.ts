import type { Job } from '../contracts/job.js';
import { storableText } from '../contracts/storable-text.js';
import type { Queryable } from '../db/database.js';
import { checkJobSpec } from '../jobs/unreadable-jobs.js';

// SQL of catalog expansion. A gateway leases one expanding job at a time; every page commits its
// tasks, problems, quota and cursor in one transaction that moves the cursor only from where the
// page started, so two gateways (a lease that ran out) can never both commit a page.

export interface ExpandingJob {
  readonly tenantId: string;
  readonly jobId: string;
  readonly spec: Job;
  readonly lane: 'normal' | 'priority';
  readonly cursor: string | null;
  readonly expandedItems: number;
  readonly skipped: number;
  readonly createdAt: Date;
}

const jobColumns = `jobs.tenant_id AS "tenantId", jobs.id AS "jobId", jobs.spec, jobs.lane,
  jobs.expansion_cursor AS cursor, jobs.expanded_items AS "expandedItems", jobs.skipped,
  jobs.created_at AS "createdAt"`;

/** An expanding job whose stored spec fails the job contract (src/jobs/unreadable-jobs.ts): it cannot be listed. */
export type UnreadableExpandingJob = Omit<ExpandingJob, 'spec'> & { readonly problem: string };

/**
 * Leases an expanding job nobody lists whose tenant has fewer than `backlog` tasks waiting for the
 * dispatcher (listing further would only grow the table, not the throughput): a job of the tenant
 * served least recently (never served first), that tenant's oldest. So a tenant with a stuck or
 * endless job takes one turn in every round of tenants, never all of them.
 */
export async function claimExpandingJob(
  q: Queryable,
  leaseMs: number,
  backlog: number,
): Promise<ExpandingJob | UnreadableExpandingJob | undefined> {
  const [job] = await q.query<ExpandingJob>(
    `WITH picked AS (
       SELECT j.tenant_id, j.id FROM jobs j
       LEFT JOIN tenant_expansion_turns t ON t.tenant_id = j.tenant_id
       WHERE j.state = 'expanding' AND (j.expansion_lease_until IS NULL OR j.expansion_lease_until < now())
         AND NOT EXISTS (SELECT 1 FROM tenant_dispatch d WHERE d.tenant_id = j.tenant_id AND d.pending >= $2)
       ORDER BY t.served_at NULLS FIRST, j.created_at LIMIT 1 FOR UPDATE OF j SKIP LOCKED
     ), served AS (
       INSERT INTO tenant_expansion_turns (tenant_id, served_at) SELECT tenant_id, clock_timestamp() FROM picked
       ON CONFLICT (tenant_id) DO UPDATE SET served_at = EXCLUDED.served_at
     )
     UPDATE jobs SET expansion_lease_until = now() + make_interval(secs => $1::double precision / 1000)
     FROM picked WHERE jobs.tenant_id = picked.tenant_id AND jobs.id = picked.id
     RETURNING ${jobColumns}`,
    [leaseMs, backlog],
  );
  if (!job) return undefined;
  const spec = checkJobSpec(job.spec, job);
  return spec.ok ? { ...job, spec: spec.value } : { ...job, problem: spec.problem };
}

/**
 * Extends the lease while a page is being read (a slow manifest must not let another gateway take
 * the job over mid-page); false once the job moved past `cursor` or stopped expanding.
 */
export async function renewExpansionLease(
  q: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  cursor: string | null,
  leaseMs: number,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE jobs SET expansion_lease_until = now() + make_interval(secs => $4::double precision / 1000)
     WHERE tenant_id = $1 AND id = $2 AND state = 'expanding' AND expansion_cursor IS NOT DISTINCT FROM $3
     RETURNING 1`,
    [job.tenantId, job.jobId, cursor, leaseMs],
  );
  return rows.length === 1;
}

/**
 * Counts a failed page of a job still at `cursor` and holds the job back for `retryDelayMs`,
 * doubled for each failure in a row (at most 64 times); returns the failures in a row, or
 * undefined when the job moved on meanwhile.
 */
export async function recordExpansionFailure(
  q: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  cursor: string | null,
  retryDelayMs: number,
): Promise<number | undefined> {
  const [row] = await q.query<{ failures: number }>(
    `UPDATE jobs SET expansion_failures = expansion_failures + 1,
       expansion_lease_until = now() + make_interval(secs => $4::double precision / 1000 * 2 ^ least(expansion_failures, 6))
     WHERE tenant_id = $1 AND id = $2 AND state = 'expanding' AND expansion_cursor IS NOT DISTINCT FROM $3
     RETURNING expansion_failures AS failures`,
    [job.tenantId, job.jobId, cursor, retryDelayMs],
  );
  return row?.failures;
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

/**
 * The job's counters while it still expands from `cursor`; undefined once it moved on. `lock`
 * holds its row for the rest of the transaction.
 */
export async function jobAtCursor(
  q: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  cursor: string | null,
  { lock = false }: { lock?: boolean } = {},
): Promise<{ expandedItems: number; skipped: number } | undefined> {
  const [row] = await q.query<{ expandedItems: number; skipped: number }>(
    `SELECT j.expanded_items AS "expandedItems", j.skipped
     FROM jobs j
     WHERE j.tenant_id = $1 AND j.id = $2 AND j.state = 'expanding' AND j.expansion_cursor IS NOT DISTINCT FROM $3
     ${lock ? 'FOR UPDATE' : ''}`,
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
 * Advances the job past a page that started at `from`; false when the job is no longer there
 * (another gateway took it over and moved on: the caller rolls back). When the listing is over
 * the job's total becomes known, and a job whose tasks all ended already (or that has none)
 * completes here, as task-completion would.
 */
export async function recordPage(
  tx: Queryable,
  job: Pick<ExpandingJob, 'tenantId' | 'jobId'>,
  from: string | null,
  page: PageRecord,
  leaseMs: number,
): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE jobs SET
       expansion_cursor = $3,
       expansion_failures = 0,
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
     WHERE tenant_id = $1 AND id = $2 AND state = 'expanding' AND expansion_cursor IS NOT DISTINCT FROM $11
     RETURNING 1`,
    [
      job.tenantId,
      job.jobId,
      page.cursor,
      page.created,
      page.skipped,
      page.reservedAt,
      page.finished,
      page.truncated?.code ?? null,
      page.truncated ? storableText(page.truncated.message).text : null,
      leaseMs,
      from,
    ],
  );
  return rows.length === 1;
}
