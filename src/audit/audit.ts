import type { Queryable } from '../db/database.js';

export const auditSources = ['job', 'event', 'admin'] as const;
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
}

// One statement for any number of rows: the gateway writes a whole delivery batch at once.
const insertSql = `
INSERT INTO audit_log (at, tenant_id, key_id, message_id, source, outcome, reason, detail)
SELECT COALESCE(at, now()), tenant_id, key_id, message_id, source, outcome, reason, detail
FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
  AS r(at, tenant_id, key_id, message_id, source, outcome, reason, detail)`;

export async function recordAudit(q: Queryable, rows: readonly AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (row: AuditRow) => T | undefined) => rows.map((row) => pick(row) ?? null);
  await q.query(insertSql, [
    column((row) => row.at),
    column((row) => row.tenantId),
    column((row) => row.keyId),
    column((row) => row.messageId),
    column((row) => row.source),
    column((row) => row.outcome),
    column((row) => row.reason),
    column((row) => row.detail),
  ]);
}

export interface AuditQuery {
  readonly tenantId?: string;
  readonly since?: Date;
  /** The newest `limit` rows of the selection (default 1000), returned oldest first. */
  readonly limit?: number;
}

export async function listAudit(q: Queryable, query: AuditQuery = {}): Promise<AuditEntry[]> {
  const rows = await q.query<AuditEntry>(
    `SELECT id::text, at, tenant_id AS "tenantId", key_id AS "keyId", message_id AS "messageId",
            source, outcome, reason, detail
     FROM audit_log
     WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::timestamptz IS NULL OR at >= $2)
     ORDER BY at DESC, id DESC
     LIMIT $3`,
    [query.tenantId ?? null, query.since ?? null, query.limit ?? 1000],
  );
  return rows.reverse();
}
