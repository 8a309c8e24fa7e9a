import type { Queryable } from '../db/database.js';
import { jsonParameter } from '../db/json-parameter.js';
import { interleavedByTenant, type ReleasedTask } from './task-queue.js';

// Set-based writes for a whole admission batch: one statement per table, whatever the batch size.
// Rows go in sorted by key, so two gateways writing overlapping keys wait for each other in the
// same order and never deadlock.

export interface JobRef {
  readonly tenantId: string;
  readonly jobId: string;
}

export interface NewJob extends JobRef {
  /** Null for jobs made by an S3 trigger rule (no signed message). */
  readonly keyId: string | null;
  readonly nonce: string | null;
  /** The validated job body. */
  readonly spec: unknown;
  readonly model: string;
  readonly lane: 'normal' | 'priority';
  /** Undefined while a prefix or manifest input is still being expanded. */
  readonly total?: number;
  readonly imagesReserved: number;
  readonly reservedAt: Date;
}

export interface NewTask extends JobRef {
  readonly item: number;
  readonly sourceBucket: string;
  readonly sourceKey: string;
  readonly laneRank: 0 | 1;
}

export const jobRefKey = (ref: JobRef) => `${ref.tenantId}\n${ref.jobId}`;

/** By tenant, then job id: the one lock order of every batch write. */
export function byJobRef<T extends JobRef>(refs: readonly T[]): T[] {
  const key = new Map(refs.map((ref) => [ref, jobRefKey(ref)]));
  return [...refs].sort((a, b) => (key.get(a)! < key.get(b)! ? -1 : key.get(a)! > key.get(b)! ? 1 : 0));
}

/** Inserts the jobs whose id is new for their tenant; returns their `created_at` by key (jobRefKey). */
export async function insertJobs(q: Queryable, unsorted: readonly NewJob[]): Promise<Map<string, Date>> {
  if (unsorted.length === 0) return new Map();
  const jobs = byJobRef(unsorted);
  // The specs as one JSON array, element n for row n: as elements of a jsonb[] pg would escape
  // every spec's quotes again (node), and one JSON parameter for every column cost PostgreSQL
  // twice the statement's time (json_to_recordset), bench/gateway-statements.ts.
  const rows = await q.query<{ tenant_id: string; id: string; created_at: Date }>(
    `INSERT INTO jobs (tenant_id, id, key_id, nonce, state, spec, model, lane, total, images_reserved, reserved_at)
     SELECT tenant_id, id, key_id, nonce, CASE WHEN total IS NULL THEN 'expanding' ELSE 'running' END,
            $5::jsonb -> (n - 1)::int, model, lane, total, images_reserved, reserved_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[], $7::text[],
                 $8::int[], $9::int[], $10::timestamptz[]) WITH ORDINALITY
       AS j(tenant_id, id, key_id, nonce, model, lane, total, images_reserved, reserved_at, n)
     ON CONFLICT (tenant_id, id) DO NOTHING
     RETURNING tenant_id, id, created_at`,
    [
      jobs.map((j) => j.tenantId),
      jobs.map((j) => j.jobId),
      jobs.map((j) => j.keyId),
      jobs.map((j) => j.nonce),
      JSON.stringify(jobs.map((j) => j.spec)),
      jobs.map((j) => j.model),
      jobs.map((j) => j.lane),
      jobs.map((j) => j.total ?? null),
      jobs.map((j) => j.imagesReserved),
      jobs.map((j) => j.reservedAt),
    ],
  );
  return new Map(rows.map((row) => [jobRefKey({ tenantId: row.tenant_id, jobId: row.id }), row.created_at]));
}

/** Key id and nonce of the message that admitted each existing job, by jobRefKey. */
export async function jobOrigins(
  q: Queryable,
  refs: readonly JobRef[],
): Promise<Map<string, { keyId: string | null; nonce: string | null }>> {
  if (refs.length === 0) return new Map();
  const rows = await q.query<{ tenant_id: string; id: string; key_id: string | null; nonce: string | null }>(
    `SELECT tenant_id, id, key_id, nonce FROM jobs
     WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [refs.map((r) => r.tenantId), refs.map((r) => r.jobId)],
  );
  return new Map(
    rows.map((row) => [
      jobRefKey({ tenantId: row.tenant_id, jobId: row.id }),
      { keyId: row.key_id, nonce: row.nonce },
    ]),
  );
}

/** Removes jobs inserted earlier in the same transaction that a later check refused. */
export async function deleteJobs(q: Queryable, unsorted: readonly JobRef[]): Promise<void> {
  if (unsorted.length === 0) return;
  const refs = byJobRef(unsorted);
  await q.query(`DELETE FROM jobs WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, [
    refs.map((r) => r.tenantId),
    refs.map((r) => r.jobId),
  ]);
}

/**
 * Releases a batch's tasks at admission: the admitting gateway publishes them right after its
 * commit, skipping the dispatcher's release round. `most`: the largest number of one tenant's
 * tasks released so (what one dispatcher publish gives a tenant alone).
 */
export interface AdmissionRelease {
  readonly leaseMs: number;
  readonly most: number;
}

/** The batch's tasks of the tenant, in ON CONFLICT's terms (its proposed row holds them in one column or the other). */
const batch = '(EXCLUDED.pending + EXCLUDED.in_flight)';
const released = `(d.pending = 0 AND d.in_flight + ${batch} <= EXCLUDED.max_in_flight AND ${batch} <= $5)`;

// The dispatch counters first (by tenant, the lock order), each deciding whether its tenant's new
// tasks go out at once: only when the tenant has nothing pending (so none of its older tasks is
// passed over) and its window has room for all of them, at most `most` ($5; 0 never). Released, a
// tenant's counter keeps pending 0, so `pending = 0` tells its tasks so. Ids follow the input order.
const insertTasksSql = `
WITH counts AS (
  SELECT tenant_id, n, max_in_flight, n <= LEAST(max_in_flight, $5) AS direct
  FROM unnest($2::text[], $3::int[], $4::int[]) AS c(tenant_id, n, max_in_flight)
), dispatch AS (
  INSERT INTO tenant_dispatch AS d (tenant_id, pending, in_flight, max_in_flight, last_released_at)
  SELECT tenant_id, CASE WHEN direct THEN 0 ELSE n END, CASE WHEN direct THEN n ELSE 0 END, max_in_flight,
         CASE WHEN direct THEN clock_timestamp() ELSE '-infinity' END
  FROM counts
  ON CONFLICT (tenant_id) DO UPDATE SET
    pending = d.pending + CASE WHEN ${released} THEN 0 ELSE ${batch} END,
    in_flight = d.in_flight + CASE WHEN ${released} THEN ${batch} ELSE 0 END,
    max_in_flight = EXCLUDED.max_in_flight,
    last_released_at = CASE WHEN ${released} THEN clock_timestamp() ELSE d.last_released_at END
  RETURNING tenant_id, pending = 0 AS released
), inserted AS (
  INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank, status, released_at, lease_until)
  SELECT t."tenantId", t."jobId", t.item, t."sourceBucket", t."sourceKey", t."laneRank",
         CASE WHEN d.released THEN 'queued' ELSE 'pending' END,
         CASE WHEN d.released THEN now() END,
         CASE WHEN d.released THEN now() + make_interval(secs => $6::double precision / 1000) END
  FROM ROWS FROM (json_to_recordset($1::json)
         AS ("tenantId" text, "jobId" text, item int, "sourceBucket" text, "sourceKey" text, "laneRank" smallint))
       WITH ORDINALITY AS t("tenantId", "jobId", item, "sourceBucket", "sourceKey", "laneRank", ord)
  JOIN dispatch d ON d.tenant_id = t."tenantId"
  ORDER BY t.ord
  RETURNING id, tenant_id, job_id, item, source_bucket, source_key, lane_rank, status
)
SELECT id::text, tenant_id AS "tenantId", job_id AS "jobId", item, source_bucket AS "sourceBucket",
       source_key AS "sourceKey"
FROM inserted WHERE status = 'queued'
ORDER BY ${interleavedByTenant('inserted')}`;

/**
 * Inserts tasks and adds them to their tenants' dispatch counters, in one statement: pending, or
 * with `release` queued and leased to the caller as a dispatcher round would (see above). Returns
 * the released ones, to publish in the order a dispatcher round would (task-queue.ts: interleaved
 * by tenant, by lane and age within each); none without `release`.
 */
export async function insertTasks(
  q: Queryable,
  tasks: readonly NewTask[],
  maxInFlight: ReadonlyMap<string, number>,
  release?: AdmissionRelease,
): Promise<ReleasedTask[]> {
  if (tasks.length === 0) return [];
  const perTenant = new Map<string, number>();
  for (const task of tasks) perTenant.set(task.tenantId, (perTenant.get(task.tenantId) ?? 0) + 1);
  const tenants = [...perTenant.keys()].sort();
  return q.query<ReleasedTask>(insertTasksSql, [
    // One JSON parameter: cheaper for pg to send than six escaped arrays.
    jsonParameter(
      tasks.map(({ tenantId, jobId, item, sourceBucket, sourceKey, laneRank }) => ({
        tenantId,
        jobId,
        item,
        sourceBucket,
        sourceKey,
        laneRank,
      })),
    ),
    tenants,
    tenants.map((t) => perTenant.get(t)),
    tenants.map((t) => maxInFlight.get(t) ?? unboundedInFlight),
    release?.most ?? 0,
    release?.leaseMs ?? 0,
  ]);
}

/** Stands for "no in-flight limit" in tenant_dispatch.max_in_flight. */
export const unboundedInFlight = 2_147_483_647;
