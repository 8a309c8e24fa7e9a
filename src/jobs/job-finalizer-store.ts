import type { Queryable } from '../db/database.js';

// SQL of job finalisation: which completed jobs still need their results manifest and
// job.completed event, and the one conditional update that makes the event happen once.

export interface CompletedJob {
  readonly tenantId: string;
  readonly jobId: string;
  /** As stored: the finaliser reads it through the job contract. */
  readonly spec: unknown;
  readonly createdAt: Date;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Input entries that made no item; past the expander's cap only some of them are recorded. */
  readonly skipped: number;
  readonly truncatedCode: string | null;
  readonly truncatedMessage: string | null;
}

const completedColumns = `tenant_id AS "tenantId", id AS "jobId", spec, created_at AS "createdAt", total, succeeded, failed, skipped,
  truncated_code AS "truncatedCode", truncated_message AS "truncatedMessage"`;

/** Leases the oldest completed job not yet finalised that no other finaliser holds. */
export async function claimCompletedJob(q: Queryable, leaseMs: number): Promise<CompletedJob | undefined> {
  const [job] = await q.query<CompletedJob>(
    `UPDATE jobs SET finalize_lease_until = now() + make_interval(secs => $1::double precision / 1000)
     WHERE (tenant_id, id) = (
       SELECT tenant_id, id FROM jobs
       WHERE state = 'completed' AND finalized_at IS NULL
         AND (finalize_lease_until IS NULL OR finalize_lease_until < now())
       ORDER BY completed_at LIMIT 1 FOR UPDATE SKIP LOCKED
     )
     RETURNING ${completedColumns}`,
    [leaseMs],
  );
  return job;
}

/**
 * Extends the lease while a large manifest is being written, so no other finaliser writes it
 * again meanwhile; false once the job is finalised.
 */
export async function renewFinalizeLease(
  q: Queryable,
  job: { tenantId: string; jobId: string },
  leaseMs: number,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE jobs SET finalize_lease_until = now() + make_interval(secs => $3::double precision / 1000)
     WHERE tenant_id = $1 AND id = $2 AND state = 'completed' AND finalized_at IS NULL
     RETURNING 1`,
    [job.tenantId, job.jobId, leaseMs],
  );
  return rows.length === 1;
}

/** The job as finalisation needs it; undefined unless it is completed and not yet finalised. */
export async function unfinalizedJob(
  q: Queryable,
  ref: { tenantId: string; jobId: string },
): Promise<CompletedJob | undefined> {
  const [job] = await q.query<CompletedJob>(
    `SELECT ${completedColumns} FROM jobs
     WHERE tenant_id = $1 AND id = $2 AND state = 'completed' AND finalized_at IS NULL`,
    [ref.tenantId, ref.jobId],
  );
  return job;
}

/** Marks the job finalised; true for exactly one caller per job (the one that queues job.completed). */
export async function markFinalized(
  tx: Queryable,
  job: { tenantId: string; jobId: string },
  manifest: { bucket: string; key: string } | undefined,
  manifestError: string | undefined,
): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE jobs SET finalized_at = now(), finalize_lease_until = NULL,
       manifest_bucket = $3, manifest_key = $4, manifest_error = $5
     WHERE tenant_id = $1 AND id = $2 AND state = 'completed' AND finalized_at IS NULL
     RETURNING 1`,
    [job.tenantId, job.jobId, manifest?.bucket ?? null, manifest?.key ?? null, manifestError ?? null],
  );
  return rows.length === 1;
}
