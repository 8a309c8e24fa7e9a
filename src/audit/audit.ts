import type { Queryable } from '../db/database.js';
import { jsonParameter } from '../db/json-parameter.js';

export const auditSources = ['job', 'event', 'admin', 'api'] as const;
export type AuditSource = (typeof auditSources)[number];

/**
 * One decision. `outcome` is `accepted`, `rejected` or `duplicate` for jobs and events, the action
 * (`key.revoked`, `quota.set`, ...) for admin changes; `reason` is the stable rejection code.
 * Never put a secret in any field.
 */
export interface AuditRow {
  /** Defaults to the database's transaction time. */
  readonly at?: Date;
  readonly tenantId?: string;
  readonly keyId?: string;
  readonly messageId?: string;
  readonly source: AuditSource;
  readonly outcome: string;
  readonly reason?: string;
  readonly detail?: string;
  /** How many identical decisions this row stands for (default 1). */
  readonly count?: number;
}

export interface AuditEntry {
  readonly id: string;
  readonly at: Date;
  readonly tenantId: string | null;
  readonly keyId: string | null;
  readonly messageId: string | null;
  readonly source: AuditSource;
  readonly outcome: string;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly count: number;
}

// One statement for any number of rows: the gateway writes a whole delivery batch at once.
const insertSql = `
INSERT INTO audit_log (at, tenant_id, key_id, message_id, source, outcome, reason, detail, count)
SELECT COALESCE(at, now()), tenant_id, key_id, message_id, source, outcome, reason, detail, COALESCE(count, 1)
FROM json_to_recordset($1::json)
  AS r(at timestamptz, tenant_id text, key_id text, message_id text, source text, outcome text, reason text,
       detail text, count int)
RETURNING id::text`;

/** Inserts the rows; returns their ids in row order. */
export async function recordAudit(q: Queryable, rows: readonly AuditRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  // One JSON parameter (a missing field is NULL): cheaper for pg to send than nine escaped arrays.
  const inserted = await q.query<{ id: string }>(insertSql, [
    jsonParameter(
      rows.map((row) => ({
        at: row.at,
        tenant_id: row.tenantId,
        key_id: row.keyId,
        message_id: row.messageId,
        source: row.source,
        outcome: row.outcome,
        reason: row.reason,
        detail: row.detail,
        count: row.count,
      })),
    ),
  ]);
  return inserted.map((row) => row.id);
}

/**
 * Adds `by` to a counting row's count, and to the number its detail starts with; false when the
 * row does not exist (its transaction rolled back).
 */
export async function addToAuditCount(q: Queryable, id: string, by: number): Promise<boolean> {
  const updated = await q.query(
    `UPDATE audit_log SET count = count + $2, detail = regexp_replace(detail, '^[0-9]+', (count + $2)::text)
     WHERE id = $1::bigint RETURNING id`,
    [id, by],
  );
  return updated.length === 1;
}

export interface AuditQuery {
  readonly tenantId?: string;
  readonly since?: Date;
  readonly source?: AuditSource;
  readonly outcome?: string;
  readonly reason?: string;
  /** The newest `limit` rows of the selection (default 1000), returned oldest first. */
  readonly limit?: number;
}

export async function listAudit(q: Queryable, query: AuditQuery = {}): Promise<AuditEntry[]> {
  const rows = await q.query<AuditEntry>(
    `SELECT id::text, at, tenant_id AS "tenantId", key_id AS "keyId", message_id AS "messageId",
            source, outcome, reason, detail, count
     FROM audit_log
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::timestamptz IS NULL OR at >= $2)
       AND ($4::text IS NULL OR source = $4) AND ($5::text IS NULL OR outcome = $5)
       AND ($6::text IS NULL OR reason = $6)
     ORDER BY at DESC, id DESC
     LIMIT $3`,
    [
      query.tenantId ?? null,
      query.since ?? null,
      query.limit ?? 1000,
      query.source ?? null,
      query.outcome ?? null,
      query.reason ?? null,
    ],
  );
  return rows.reverse();
}
