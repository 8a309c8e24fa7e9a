import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.js';

// One-time sign-in links and the sessions they open (table dashboard_links). The token travels
// only in the link; the row keeps its SHA-256, so a database dump cannot sign anyone in.
// signed_out_at ends a session; set on a link never used, it marks the link revoked.

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
  | { readonly ok: true; readonly sessionId: string; readonly scope: SessionScope; readonly expiresAt: Date }
  | { readonly ok: false; readonly why: 'unknown' | 'used' | 'expired' | 'revoked' };

interface LinkRow {
  id: string;
  tenantId: string | null;
  admin: boolean;
  expiresAt: Date;
}
const linkColumns = 'id, tenant_id AS "tenantId", admin, expires_at AS "expiresAt"';
const opened = (row: LinkRow): Redemption => ({
  ok: true,
  sessionId: row.id,
  scope: { tenantId: row.tenantId, admin: row.admin },
  expiresAt: row.expiresAt,
});

/** What a link would open, without using it (the sign-in page a mail scanner may fetch). */
export async function inspectLink(q: Queryable, token: string, now: Date): Promise<Redemption> {
  const [row] = await q.query<LinkRow & { used: boolean; revoked: boolean; live: boolean }>(
    `SELECT ${linkColumns}, used_at IS NOT NULL AS used, signed_out_at IS NOT NULL AS revoked,
            expires_at > $2 AS live
     FROM dashboard_links WHERE token_sha256 = $1`,
    [hashOf(token), now],
  );
  if (row === undefined) return { ok: false, why: 'unknown' };
  if (row.used) return { ok: false, why: 'used' };
  if (row.revoked) return { ok: false, why: 'revoked' };
  if (!row.live) return { ok: false, why: 'expired' };
  return opened(row);
}

/** Marks the link used, once: of two concurrent redemptions only one gets the session. */
export async function redeemLink(q: Queryable, token: string, now: Date): Promise<Redemption> {
  const [row] = await q.query<LinkRow>(
    `UPDATE dashboard_links SET used_at = $2
     WHERE token_sha256 = $1 AND used_at IS NULL AND signed_out_at IS NULL AND expires_at > $2
     RETURNING ${linkColumns}`,
    [hashOf(token), now],
  );
  if (row) return opened(row);
  return inspectLink(q, token, now);
}

/** Whether the session opened by this link is still on (not signed out). */
export async function sessionActive(q: Queryable, sessionId: string): Promise<boolean> {
  const [row] = await q.query(
    'SELECT 1 FROM dashboard_links WHERE id = $1 AND used_at IS NOT NULL AND signed_out_at IS NULL',
    [sessionId],
  );
  return row !== undefined;
}

/** Ends a session; false when it had ended already. */
export async function endSession(q: Queryable, sessionId: string, now: Date): Promise<boolean> {
  const ended = await q.query(
    'UPDATE dashboard_links SET signed_out_at = $2 WHERE id = $1 AND signed_out_at IS NULL RETURNING id',
    [sessionId, now],
  );
  return ended.length === 1;
}

/**
 * Ends the open sessions and revokes the unused, unexpired links of one tenant (every session and
 * link it shows, operator ones included), or of everyone when `tenantId` is null.
 */
export async function revokeAccess(
  q: Queryable,
  tenantId: string | null,
  now: Date,
): Promise<{ sessions: number; links: number }> {
  const [row] = await q.query<{ sessions: number; links: number }>(
    `WITH ended AS (
       UPDATE dashboard_links SET signed_out_at = $2
       WHERE signed_out_at IS NULL AND ($1::text IS NULL OR tenant_id = $1)
         AND (used_at IS NOT NULL OR expires_at > $2)
       RETURNING used_at IS NOT NULL AS was_session
     )
     SELECT count(*) FILTER (WHERE was_session)::int AS sessions,
            count(*) FILTER (WHERE NOT was_session)::int AS links
     FROM ended`,
    [tenantId, now],
  );
  return row ?? { sessions: 0, links: 0 };
}
