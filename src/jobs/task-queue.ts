import { itemErrorMessage } from '../contracts/item-errors.js';
import type { Job } from '../contracts/job.js';
import type { Database, Queryable } from '../db/database.js';
import { completeTask } from './task-completion.js';
import { checkJobSpec, type UnreadableJob } from './unreadable-jobs.js';

// SQL of the task outbox: releasing pending tasks within each tenant's in-flight window, round
// robin, and recording their publication. Each function is one statement, but failing the tasks
// of a job that can no longer be read (one completion per task).

export interface ReleasedTask {
  readonly id: string;
  readonly tenantId: string;
  readonly jobId: string;
  readonly item: number;
  readonly sourceBucket: string;
  readonly sourceKey: string;
}

export interface ReleaseOptions {
  /** Most tasks one tenant gets per round, so every tenant with room is served each round. */
  readonly quantum: number;
  /** Most tenants served per round; the ones served longest ago go first. */
  readonly maxTenants: number;
  readonly leaseMs: number;
}

const releasedColumns = `t.id::text, t.tenant_id AS "tenantId", t.job_id AS "jobId", t.item,
  t.source_bucket AS "sourceBucket", t.source_key AS "sourceKey"`;

// The tenants' rows are locked waiting, in tenant order, rather than skipped when locked: a worker
// ending a task holds its tenant's row until its transaction commits, and a busy tenant's row was
// locked nearly always, so skipping it starved the dispatcher (about 100 tasks/s). Admission locks
// these rows in tenant order too, so waiting cannot deadlock while the transaction holds no other
// tenant row; a row changed while waited for is read again (its room recomputed) before it is used.
// A later round in the same transaction already holds earlier rounds' rows, which need not come
// before this round's in tenant order, so it skips locked rows instead of waiting (`lockRows`).
// The released tasks come back interleaved, each tenant's n-th before anyone's (n+1)-th (within a
// tenant, by lane and age): a tenant served in the same statement as one with hundreds of tasks
// (the lone tenant's nine quanta, dispatcher.ts) queues behind about as many of them as it has
// (and the first round's quantum), not all of them.
/**
 * ORDER BY for released task rows of table `rows`: interleaved by tenant as above. One rule for a
 * dispatcher round and for tasks admission releases to its gateway (job-store.ts insertTasks).
 */
export function interleavedByTenant(rows: string): string {
  return `row_number() OVER (PARTITION BY ${rows}.tenant_id ORDER BY ${rows}.lane_rank, ${rows}.id), ${rows}.lane_rank, ${rows}.id`;
}

const releaseSql = (lockRows: 'wait' | 'skip locked') => `
WITH served_first AS (
  SELECT tenant_id FROM tenant_dispatch
  WHERE pending > 0 AND in_flight < max_in_flight
  ORDER BY last_released_at
  LIMIT $2
), eligible AS (
  SELECT tenant_id, LEAST(max_in_flight - in_flight, $1) AS room
  FROM tenant_dispatch
  WHERE tenant_id IN (SELECT tenant_id FROM served_first) AND pending > 0 AND in_flight < max_in_flight
  ORDER BY tenant_id
  FOR UPDATE${lockRows === 'wait' ? '' : ' SKIP LOCKED'}
), picked AS (
  SELECT p.id FROM eligible e
  CROSS JOIN LATERAL (
    SELECT id FROM tasks
    WHERE tenant_id = e.tenant_id AND status = 'pending'
    ORDER BY lane_rank, id
    LIMIT e.room
    FOR UPDATE SKIP LOCKED
  ) p
), released AS (
  UPDATE tasks t
  SET status = 'queued', released_at = now(), lease_until = now() + make_interval(secs => $3::double precision / 1000)
  FROM picked WHERE t.id = picked.id
  RETURNING t.*
), counted AS (
  UPDATE tenant_dispatch d
  SET pending = d.pending - c.n, in_flight = d.in_flight + c.n, last_released_at = clock_timestamp()
  FROM (SELECT tenant_id, count(*)::int AS n FROM released GROUP BY tenant_id) c
  WHERE d.tenant_id = c.tenant_id
)
SELECT ${releasedColumns} FROM released t
ORDER BY ${interleavedByTenant('t')}`;

const releaseWaiting = releaseSql('wait');
const releaseSkippingLocked = releaseSql('skip locked');

/**
 * Moves pending tasks to `queued` (in flight) for every tenant below its window, at most
 * `quantum` each, and leases them to the caller for publishing. `lockRows: 'skip locked'` for a
 * transaction that already holds tenant rows (see above).
 */
export async function releaseTasks(
  q: Queryable,
  options: ReleaseOptions,
  lockRows: 'wait' | 'skip locked' = 'wait',
): Promise<ReleasedTask[]> {
  const sql = lockRows === 'wait' ? releaseWaiting : releaseSkippingLocked;
  return q.query<ReleasedTask>(sql, [options.quantum, options.maxTenants, options.leaseMs]);
}

/** Released tasks whose publisher's lease ran out before it recorded them published (it crashed). */
export async function reclaimUnpublished(
  q: Queryable,
  limit: number,
  leaseMs: number,
): Promise<ReleasedTask[]> {
  return q.query<ReleasedTask>(
    `UPDATE tasks t SET lease_until = now() + make_interval(secs => $2::double precision / 1000)
     WHERE t.id IN (
       SELECT id FROM tasks
       WHERE status = 'queued' AND published_at IS NULL AND lease_until < now()
       ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     RETURNING ${releasedColumns}`,
    [limit, leaseMs],
  );
}

/** The broker confirmed these tasks. */
export async function markPublished(q: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(
    'UPDATE tasks SET published_at = now(), lease_until = NULL WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
    [ids],
  );
}

/**
 * Publishing these failed (the broker is away): give their leases up at once, so the next round
 * publishes them when the broker is back, instead of after the lease. Confirmed ones stay marked.
 */
export async function abandonLeases(q: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await q.query(
    `UPDATE tasks SET lease_until = '-infinity' WHERE id = ANY($1::bigint[]) AND published_at IS NULL`,
    [ids],
  );
}

export interface JobForTasks {
  readonly tenantId: string;
  readonly jobId: string;
  /** Null for jobs made by an S3 trigger rule. */
  readonly keyId: string | null;
  readonly spec: Job;
  readonly model: string;
  readonly lane: 'normal' | 'priority';
  readonly createdAt: Date;
}

export const isUnreadableJob = (job: JobForTasks | UnreadableJob): job is UnreadableJob => 'problem' in job;

/**
 * What every task of these jobs repeats (output, renditions, model), read once per job. A spec
 * that fails its contract comes back as an UnreadableJob instead of failing the read: one job's
 * row must not stop every tenant's tasks.
 */
export async function jobsForTasks(
  q: Queryable,
  refs: readonly { tenantId: string; jobId: string }[],
): Promise<(JobForTasks | UnreadableJob)[]> {
  const rows = await q.query<JobForTasks & { spec: unknown }>(
    `SELECT tenant_id AS "tenantId", id AS "jobId", key_id AS "keyId", spec, model, lane, created_at AS "createdAt"
     FROM jobs WHERE (tenant_id, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [refs.map((r) => r.tenantId), refs.map((r) => r.jobId)],
  );
  return rows.map((row) => {
    const spec = checkJobSpec(row.spec, row);
    if (!spec.ok)
      return { tenantId: row.tenantId, jobId: row.jobId, createdAt: row.createdAt, problem: spec.problem };
    return { ...row, spec: spec.value };
  });
}

/**
 * Ends the tasks as failed with `invalid_job` (quota units given back: they never ran). One
 * transaction each, as a worker's completion: several in one would take a task row after the
 * tenant's counters, against the lock order (docs/jobs.md).
 */
async function failTasksOfUnreadableJob(
  db: Pick<Database, 'transaction'>,
  taskIds: readonly string[],
  job: UnreadableJob,
): Promise<void> {
  const message = itemErrorMessage(
    `${job.problem}; its tasks were failed instead of published: submit the job again (admission names anything this release refuses in it)`,
  );
  for (const taskId of taskIds) {
    await db.transaction((tx) =>
      completeTask(
        tx,
        { taskId, attempt: 1 },
        { status: 'failed', error: { code: 'invalid_job', message }, refund: true },
      ),
    );
  }
}

/** The task outbox as the dispatcher uses it: the statements above on one database. */
export interface TaskOutbox {
  /**
   * Runs `work` with the release statement bound to ONE transaction, so its rounds commit together:
   * one WAL flush instead of one per round (under load the flush took longer than the statement).
   * Only the first round waits for tenant rows; later ones skip rows locked elsewhere, since
   * waiting while holding the first round's rows could deadlock with admission's tenant order.
   */
  releasing<T>(
    work: (release: (options: ReleaseOptions) => Promise<ReleasedTask[]>) => Promise<T>,
  ): Promise<T>;
  reclaimUnpublished(limit: number, leaseMs: number): Promise<ReleasedTask[]>;
  jobsForTasks(
    refs: readonly { tenantId: string; jobId: string }[],
  ): Promise<(JobForTasks | UnreadableJob)[]>;
  failTasksOfUnreadableJob(taskIds: readonly string[], job: UnreadableJob): Promise<void>;
  markPublished(ids: readonly string[]): Promise<void>;
  abandonLeases(ids: readonly string[]): Promise<void>;
}

export function taskOutbox(q: Pick<Database, 'query' | 'transaction'>): TaskOutbox {
  return {
    releasing: (work) =>
      q.transaction((tx) => {
        let rounds = 0;
        return work((options) => releaseTasks(tx, options, rounds++ === 0 ? 'wait' : 'skip locked'));
      }),
    reclaimUnpublished: (limit, leaseMs) => reclaimUnpublished(q, limit, leaseMs),
    jobsForTasks: (refs) => jobsForTasks(q, refs),
    failTasksOfUnreadableJob: (taskIds, job) => failTasksOfUnreadableJob(q, taskIds, job),
    markPublished: (ids) => markPublished(q, ids),
    abandonLeases: (ids) => abandonLeases(q, ids),
  };
}

const stuckSql = `status = 'queued' AND published_at < now() - make_interval(secs => $2::double precision / 1000)`;

const requeueStuckSql = `
WITH stuck AS (
  SELECT id FROM tasks
  WHERE ${stuckSql} AND stuck_requeues < $3
  ORDER BY published_at LIMIT $1 FOR UPDATE SKIP LOCKED
), requeued AS (
  UPDATE tasks t SET status = 'pending', published_at = NULL, lease_until = NULL, released_at = NULL,
    stuck_requeues = t.stuck_requeues + 1
  FROM stuck WHERE t.id = stuck.id
  RETURNING t.tenant_id
), counted AS (
  UPDATE tenant_dispatch d SET pending = d.pending + c.n, in_flight = d.in_flight - c.n
  FROM (SELECT tenant_id, count(*)::int AS n FROM requeued GROUP BY tenant_id) c
  WHERE d.tenant_id = c.tenant_id
)
SELECT count(*)::int AS n FROM requeued`;

/**
 * Tasks published longer than `stuckAfterMs` ago and never completed: their message was lost, or
 * dead-lettered after crashing its workers. Back to pending (at most `maxRequeues` times each),
 * their in-flight slot freed, so the dispatcher publishes them again (a copy still in a queue
 * meets a row that is not `queued` and is dropped by the worker). Returns how many.
 */
export async function requeueStuckTasks(
  q: Queryable,
  limit: number,
  stuckAfterMs: number,
  maxRequeues: number,
): Promise<number> {
  const [row] = await q.query<{ n: number }>(requeueStuckSql, [limit, stuckAfterMs, maxRequeues]);
  return row?.n ?? 0;
}

/** Stuck tasks handed back `maxRequeues` times already: the caller fails them. */
export async function stuckForGood(
  q: Queryable,
  limit: number,
  stuckAfterMs: number,
  maxRequeues: number,
): Promise<{ taskId: string; requeues: number }[]> {
  return q.query(
    `SELECT id::text AS "taskId", stuck_requeues AS requeues FROM tasks
     WHERE ${stuckSql} AND stuck_requeues >= $3 ORDER BY published_at LIMIT $1`,
    [limit, stuckAfterMs, maxRequeues],
  );
}
