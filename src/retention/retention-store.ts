import type { Queryable } from '../db/database.js';

// SQL of retention: each sweep deletes at most `limit` rows older than `before`, in one short
// statement (no long locks, no long transaction), and says how many it deleted so the caller can
// go on until a sweep finds nothing.

export type RetainedTable = 'audit_log' | 'processed_events' | 'job_input_problems' | 'webhook_deliveries';

const oldRows: Record<RetainedTable, string> = {
  audit_log: 'SELECT ctid FROM audit_log WHERE at < $1 LIMIT $2',
  processed_events: 'SELECT ctid FROM processed_events WHERE processed_at < $1 LIMIT $2',
  // A job's skipped entries go with their job's finalisation, not their own age: the results
  // manifest has them by then.
  job_input_problems: `SELECT p.ctid FROM jobs j
    JOIN job_input_problems p ON p.tenant_id = j.tenant_id AND p.job_id = j.id
    WHERE j.finalized_at < $1 LIMIT $2`,
  // Pending deliveries stay whatever their age; their attempts go with them (ON DELETE CASCADE).
  webhook_deliveries: `SELECT ctid FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1 LIMIT $2`,
};

/** Deletes up to `limit` rows of `table` older than `before`; returns how many. */
export async function sweepTable(
  q: Queryable,
  table: RetainedTable,
  before: Date,
  limit: number,
): Promise<number> {
  const rows = await q.query(`DELETE FROM ${table} WHERE ctid = ANY(ARRAY(${oldRows[table]})) RETURNING 1`, [
    before,
    limit,
  ]);
  return rows.length;
}
