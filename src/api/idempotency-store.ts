import type { Queryable } from '../db/database.js';

// POST /v1/jobs idempotency: the body digest a job was admitted with under its Idempotency-Key.

export interface JobRef {
  readonly tenantId: string;
  readonly jobId: string;
}

export async function recordIdempotency(q: Queryable, ref: JobRef, bodySha256: string): Promise<void> {
  await q.query(`INSERT INTO api_idempotency (tenant_id, job_id, body_sha256) VALUES ($1, $2, $3)`, [
    ref.tenantId,
    ref.jobId,
    bodySha256,
  ]);
}

/** The digest of the body the job was admitted with over HTTP; undefined when it was not. */
export async function admittedDigest(q: Queryable, ref: JobRef): Promise<string | undefined> {
  const [row] = await q.query<{ digest: string }>(
    `SELECT body_sha256 AS digest FROM api_idempotency WHERE tenant_id = $1 AND job_id = $2`,
    [ref.tenantId, ref.jobId],
  );
  return row?.digest;
}
