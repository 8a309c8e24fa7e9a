import type { Queryable } from '../db/database.js';

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
  const rows = await q.query<{ tenant_id: string; id: string; created_at: Date }>(
    `INSERT INTO jobs (tenant_id, id, key_id, nonce, state, spec, model, lane, total, images_reserved, reserved_at)
     SELECT tenant_id, id, key_id, nonce, CASE WHEN total IS NULL THEN 'expanding' ELSE 'running' END,
            spec, model, lane, total, images_reserved, reserved_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                 $8::int[], $9::int[], $10::timestamptz[])
       AS j(tenant_id, id, key_id, nonce, spec, model, lane, total, images_reserved, reserved_at)
     ON CONFLICT (tenant_id, id) DO NOTHING
     RETURNING tenant_id, id, created_at`,
    [
      jobs.map((j) => j.tenantId),
      jobs.map((j) => j.jobId),
      jobs.map((j) => j.keyId),
      jobs.map((j) => j.nonce),
      jobs.map((j) => JSON.stringify(j.spec)),
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

/** Inserts pending tasks and adds them to their tenants' dispatch counters, in one statement. */
export async function insertTasks(
  q: Queryable,
  tasks: readonly NewTask[],
  maxInFlight: ReadonlyMap<string, number>,
): Promise<void> {
  if (tasks.length === 0) return;
  const perTenant = new Map<string, number>();
  for (const task of tasks) perTenant.set(task.tenantId, (perTenant.get(task.tenantId) ?? 0) + 1);
  const tenants = [...perTenant.keys()].sort();
  await q.query(
    `WITH inserted AS (
       INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::smallint[])
     )
     INSERT INTO tenant_dispatch AS d (tenant_id, pending, max_in_flight)
     SELECT * FROM unnest($7::text[], $8::int[], $9::int[])
     ON CONFLICT (tenant_id) DO UPDATE
       SET pending = d.pending + EXCLUDED.pending, max_in_flight = EXCLUDED.max_in_flight`,
    [
      tasks.map((t) => t.tenantId),
      tasks.map((t) => t.jobId),
      tasks.map((t) => t.item),
      tasks.map((t) => t.sourceBucket),
      tasks.map((t) => t.sourceKey),
      tasks.map((t) => t.laneRank),
      tenants,
      tenants.map((t) => perTenant.get(t)),
      tenants.map((t) => maxInFlight.get(t) ?? unboundedInFlight),
    ],
  );
}

/** Stands for "no in-flight limit" in tenant_dispatch.max_in_flight. */
export const unboundedInFlight = 2_147_483_647;
