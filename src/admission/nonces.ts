import type { Queryable } from '../db/database.js';
import type { NonceLedger } from './request.js';

export interface NonceUse {
  readonly keyId: string;
  readonly nonce: string;
  readonly messageId: string;
  /**
   * When the message's timestamp window closes (cc-timestamp + window): from that instant on a copy
   * is stale (src/signing/verify.ts), so the nonce may be taken over.
   */
  readonly expiresAt: Date;
}

const nonceKey = (keyId: string, nonce: string) => `${keyId}\n${nonce}`;
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * How long past its expiry a nonce row is kept before the sweeper deletes it: the allowed skew
 * between the instant a batch read the clock and the instant the sweeper reads it (clock
 * measurement error, a batch slowed by a busy database). Without it, a sweep between a batch's
 * freshness check and its nonce insert could free a nonce the batch still treats as live.
 */
export const nonceGraceMs = 60_000;

/**
 * Records each use (unique per key and nonce; callers dedupe a batch first). Returns, for each use
 * that was already recorded and is still inside its window, the message id that recorded it.
 * A row is live while `now < expires_at` (the same strict bound as freshness) and taken over from
 * `expires_at <= now` on. `now` is the batch's clock reading, the one its freshness checks used.
 */
export async function recordNonces(
  q: Queryable,
  unsorted: readonly NonceUse[],
  now: Date,
): Promise<Map<string, string>> {
  const taken = new Map<string, string>();
  if (unsorted.length === 0) return taken;
  // Sorted: two gateways inserting overlapping nonces (a redelivered batch) wait in the same order.
  const uses = [...unsorted].sort((a, b) =>
    compareText(nonceKey(a.keyId, a.nonce), nonceKey(b.keyId, b.nonce)),
  );
  const inserted = await q.query<{ key_id: string; nonce: string }>(
    `INSERT INTO nonces (key_id, nonce, message_id, expires_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
     ON CONFLICT (key_id, nonce) DO UPDATE
       SET message_id = EXCLUDED.message_id, expires_at = EXCLUDED.expires_at
       WHERE nonces.expires_at <= $5
     RETURNING key_id, nonce`,
    [
      uses.map((u) => u.keyId),
      uses.map((u) => u.nonce),
      uses.map((u) => u.messageId),
      uses.map((u) => u.expiresAt),
      now,
    ],
  );
  if (inserted.length === uses.length) return taken;
  const fresh = new Set(inserted.map((row) => nonceKey(row.key_id, row.nonce)));
  const conflicts = uses.filter((use) => !fresh.has(nonceKey(use.keyId, use.nonce)));
  // A new statement sees rows committed by a concurrent gateway after the insert's snapshot.
  const holders = await q.query<{ key_id: string; nonce: string; message_id: string }>(
    `SELECT key_id, nonce, message_id FROM nonces
     WHERE (key_id, nonce) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [conflicts.map((u) => u.keyId), conflicts.map((u) => u.nonce)],
  );
  const holderOf = new Map(holders.map((row) => [nonceKey(row.key_id, row.nonce), row.message_id]));
  for (const use of conflicts) {
    const key = nonceKey(use.keyId, use.nonce);
    taken.set(key, holderOf.get(key) ?? '');
  }
  return taken;
}

export function nonceUseKey(use: Pick<NonceUse, 'keyId' | 'nonce'>): string {
  return nonceKey(use.keyId, use.nonce);
}

/**
 * Deletes up to `limit` nonces expired more than `nonceGraceMs` ago by the database's clock (the
 * gateways' clock, src/admission/database-clock.ts); returns how many, so a sweeper can loop until 0.
 */
export async function sweepNonces(q: Queryable, limit: number): Promise<number> {
  const rows = await q.query(
    `DELETE FROM nonces WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM nonces WHERE expires_at < clock_timestamp() - $2 * interval '1 millisecond' LIMIT $1
     )) RETURNING 1`,
    [limit, nonceGraceMs],
  );
  return rows.length;
}

/** The ledger every signing door hands the admission core. */
export const nonceLedger: NonceLedger = { record: recordNonces, key: nonceUseKey };
