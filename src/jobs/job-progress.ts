import type { Queryable } from '../db/database.js';

// Read side of a job for `clearcut status` and `clearcut results`: counts, and what went wrong.

export interface JobProgress {
  readonly tenantId: string;
  readonly jobId: string;
  /** expanding → running → completed; `finalized` once the manifest and job.completed are done. */
  readonly state: 'expanding' | 'running' | 'completed';
  readonly finalized: boolean;
  /** Null while a prefix or manifest is still being listed. */
  readonly total: number | null;
  /** Items created so far (equals total once known). */
  readonly listed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly pending: number;
  /** Input entries that made no item (bad manifest lines, duplicates, ungranted keys). */
  readonly skipped: number;
  readonly truncated: { readonly code: string; readonly message: string } | null;
  readonly manifest: { readonly bucket: string; readonly key: string } | null;
  readonly manifestError: string | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

interface ProgressRow {
  tenantId: string;
  jobId: string;
  state: JobProgress['state'];
  finalizedAt: Date | null;
  total: number | null;
  expandedItems: number;
  succeeded: number;
  failed: number;
  skipped: number;
  truncatedCode: string | null;
  truncatedMessage: string | null;
  manifestBucket: string | null;
  manifestKey: string | null;
  manifestError: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

/** The job with this id, of one tenant or of every tenant that has one (ids are unique per tenant only). */
export async function findJobs(q: Queryable, jobId: string, tenantId?: string): Promise<JobProgress[]> {
  const rows = await q.query<ProgressRow>(
    `SELECT tenant_id AS "tenantId", id AS "jobId", state, finalized_at AS "finalizedAt", total,
            expanded_items AS "expandedItems", succeeded, failed, skipped,
            truncated_code AS "truncatedCode", truncated_message AS "truncatedMessage",
            manifest_bucket AS "manifestBucket", manifest_key AS "manifestKey", manifest_error AS "manifestError",
            created_at AS "createdAt", completed_at AS "completedAt"
     FROM jobs WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) ORDER BY tenant_id`,
    [jobId, tenantId ?? null],
  );
  return rows.map((row) => {
    const listed = row.total ?? row.expandedItems;
    return {
      tenantId: row.tenantId,
      jobId: row.jobId,
      state: row.state,
      finalized: row.finalizedAt !== null,
      total: row.total,
      listed,
      succeeded: row.succeeded,
      failed: row.failed,
      pending: Math.max(0, listed - row.succeeded - row.failed),
      skipped: row.skipped,
      truncated:
        row.truncatedCode === null ? null : { code: row.truncatedCode, message: row.truncatedMessage ?? '' },
      manifest:
        row.manifestBucket === null || row.manifestKey === null
          ? null
          : { bucket: row.manifestBucket, key: row.manifestKey },
      manifestError: row.manifestError,
      createdAt: row.createdAt,
      completedAt: row.completedAt,
    };
  });
}

export interface JobFailure {
  /** The item number, or for a skipped input entry its manifest line / listing position. */
  readonly item?: number;
  readonly position?: number;
  readonly what: string;
  readonly code: string;
  readonly message: string;
}

/** Failed items then skipped input entries, at most `limit` of each, in order. */
export async function jobFailures(
  q: Queryable,
  ref: { tenantId: string; jobId: string },
  limit: number,
): Promise<{ failed: JobFailure[]; skipped: JobFailure[] }> {
  const failed = await q.query<JobFailure>(
    `SELECT item, 's3://' || source_bucket || '/' || source_key AS what, COALESCE(error_code, 'failed') AS code,
            COALESCE(error_message, '') AS message
     FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND status = 'failed' ORDER BY item LIMIT $3`,
    [ref.tenantId, ref.jobId, limit],
  );
  const skipped = await q.query<JobFailure & { position: string }>(
    `SELECT position::text, entry AS what, code, message FROM job_input_problems
     WHERE tenant_id = $1 AND job_id = $2 ORDER BY job_input_problems.position LIMIT $3`,
    [ref.tenantId, ref.jobId, limit],
  );
  return { failed, skipped: skipped.map((s) => ({ ...s, position: Number(s.position) })) };
}
