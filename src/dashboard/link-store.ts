import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.js';

// One-time sign-in links and the sessions they open (table dashboard_links). The token travels
// only in the link; the row keeps its SHA-256, so a database dump cannot sign anyone in.

export interface SessionScope {
  /** The tenant whose pages the session shows; null for an operator session without one. */
  readonly tenantId: string | null;
  readonly admin: boolean;
}

export interface NewLink {
  readonly token: string;
  readonly expiresAt: Date;
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** Stores a new link; forgets links that expired more than a day ago on the way. */
export async function createLink(
  q: Queryable,
  scope: SessionScope,
  { now, ttlMs }: { now: Date; ttlMs: number },
): Promise<NewLink> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + ttlMs);
  await q.query(`DELETE FROM dashboard_links WHERE expires_at < $1::timestamptz - interval '1 day'`, [now]);
  await q.query(
    `INSERT INTO dashboard_links (id, token_sha256, tenant_id, admin, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [randomBytes(16).toString('hex'), hashOf(token), scope.tenantId, scope.admin, now, expiresAt],
  );
  return { token, expiresAt };
}

export type Redemption =
  | { readonly ok: true; readonly sessionId: string; readonly scope: SessionScope }
  | { readonly ok: false; readonly why: 'unknown' | 'used' | 'expired' };

/** Marks the link used, once: of two concurrent openings only one gets the session. */
export async function redeemLink(q: Queryable, token: string, now: Date): Promise<Redemption> {
  const hash = hashOf(token);
  const [row] = await q.query<{ id: string; tenantId: string | null; admin: boolean }>(
    `UPDATE dashboard_links SET used_at = $2
     WHERE token_sha256 = $1 AND used_at IS NULL AND expires_at > $2
     RETURNING id, tenant_id AS "tenantId", admin`,
    [hash, now],
  );
  if (row) return { ok: true, sessionId: row.id, scope: { tenantId: row.tenantId, admin: row.admin } };
  const [seen] = await q.query<{ used: boolean }>(
    'SELECT used_at IS NOT NULL AS used FROM dashboard_links WHERE token_sha256 = $1',
    [hash],
  );
  return { ok: false, why: seen === undefined ? 'unknown' : seen.used ? 'used' : 'expired' };
}

/** Whether the session opened by this link is still on (not signed out). */
export async function sessionActive(q: Queryable, sessionId: string): Promise<boolean> {
  const [row] = await q.query(
    'SELECT 1 FROM dashboard_links WHERE id = $1 AND used_at IS NOT NULL AND signed_out_at IS NULL',
    [sessionId],
  );
  return row !== undefined;
}

export async function endSession(q: Queryable, sessionId: string, now: Date): Promise<void> {
  await q.query('UPDATE dashboard_links SET signed_out_at = $2 WHERE id = $1 AND signed_out_at IS NULL', [
    sessionId,
    now,
  ]);
}
