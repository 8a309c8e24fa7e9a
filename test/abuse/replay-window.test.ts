import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDatabaseClock } from '../../src/admission/database-clock.js';
import { nonceGraceMs, recordNonces, sweepNonces } from '../../src/admission/nonces.js';
import type { Queryable } from '../../src/db/database.js';
import { assertFreshTimestamp, parseSignedHeaders } from '../../src/signing/index.js';
import { createGatewayHarness, type GatewayHarness, jobBody, type TestKey } from '../gateway/harness.js';
import { until } from '../support/until.js';

// Replay at the edge of the timestamp window: freshness and nonce expiry must use one clock (the
// database's) and the same strict bound, and the sweeper must not free a nonce a gateway still
// treats as live. A replayed message is also refused as `duplicate` while its job row exists; these
// tests ask for the replay protection itself (stale_timestamp / replayed_nonce), because job rows
// do not live for ever.

const windowSeconds = 5;
const windowMs = windowSeconds * 1000;
let h: GatewayHarness;
let key: TestKey;

beforeAll(async () => {
  h = await createGatewayHarness('replay-window', { CLEARCUT_TIMESTAMP_WINDOW: `${windowSeconds}s` });
  const tenant = await h.tenant();
  key = await h.key(tenant);
  await h.grant(tenant, 'in-r', 'photos/', 'read');
  await h.grant(tenant, 'out-r', '', 'write');
});
afterAll(async () => h?.dispose());
afterEach(() => {
  vi.useRealTimers();
});

const body = () => jobBody('in-r', ['photos/1.jpg'], { bucket: 'out-r', prefix: 'cut/' });
const databaseMs = async (q: Queryable) =>
  Number(
    (
      await q.query<{ ms: string }>(
        `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS ms`,
      )
    )[0]!.ms,
  );

const auditOf = (messageId: string) =>
  h.db.query<{ outcome: string; reason: string | null }>(
    'SELECT outcome, reason FROM audit_log WHERE message_id = $1 ORDER BY id',
    [messageId],
  );

/** Runs `work` in a transaction that is always rolled back. */
async function rolledBack<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await h.db
    .transaction(async (tx) => {
      result = await work(tx);
      throw new Error('roll back');
    })
    .catch((error: Error) => {
      if (error.message !== 'roll back') throw error;
    });
  return result!;
}

describe('the window edge', () => {
  it('has no instant at which a copy is fresh and its nonce free', async () => {
    const message = h.signed(key, body(), { timestamp: 1_800_000_000 });
    const headers = parseSignedHeaders(message.headers, message.messageId, message.contentType);
    const closes = headers.timestamp * 1000 + windowMs;
    const use = {
      keyId: key.keyId,
      nonce: headers.nonce,
      messageId: message.messageId,
      expiresAt: new Date(closes),
    };
    const seen: Record<string, { fresh: boolean; nonceFree: boolean }> = {};
    for (const at of [closes - 1000, closes - 1, closes, closes + 1]) {
      const fresh = !throwsStale(() => assertFreshTimestamp(headers, at, windowMs));
      const nonceFree = await rolledBack(async (tx) => {
        await recordNonces(tx, [use], new Date(headers.timestamp * 1000));
        return (await recordNonces(tx, [{ ...use, messageId: 'job-replay' }], new Date(at))).size === 0;
      });
      seen[at - closes] = { fresh, nonceFree };
    }
    expect(seen).toEqual({
      '-1000': { fresh: true, nonceFree: false },
      '-1': { fresh: true, nonceFree: false },
      '0': { fresh: false, nonceFree: true },
      '1': { fresh: false, nonceFree: true },
    });
  });

  it('keeps an expired nonce for the grace period before sweeping it', async () => {
    const nonce = () => randomBytes(16).toString('base64url');
    const [justExpired, longGone] = [nonce(), nonce()];
    await h.db.query(
      `INSERT INTO nonces (key_id, nonce, message_id, expires_at) VALUES
       ($1, $2, 'm1', now() - interval '1 second'),
       ($1, $3, 'm2', now() - ($4 + 1000) * interval '1 millisecond')`,
      [key.keyId, justExpired, longGone, nonceGraceMs],
    );
    while ((await sweepNonces(h.db, 100)) > 0) {}
    const left = await h.db.query<{ nonce: string }>('SELECT nonce FROM nonces WHERE key_id = $1', [
      key.keyId,
    ]);
    expect(left.map((row) => row.nonce)).toEqual([justExpired]);
  });
});

describe('one clock', () => {
  it("reads the database's time through a host clock two hours off", async () => {
    const clock = await createDatabaseClock(h.db, () => Date.now() - 7_200_000);
    const before = await databaseMs(h.db);
    const read = clock.now().getTime();
    const after = await databaseMs(h.db);
    // Within the measurement's round trips of the database's own reading.
    expect(read).toBeGreaterThanOrEqual(before - 250);
    expect(read).toBeLessThanOrEqual(after + 250);
  });

  it('a gateway whose clock lags the database by more than the grace cannot be made to take a replay', async () => {
    // This process (the gateway's host) runs 70 s behind PostgreSQL: longer than the sweeper's grace.
    const lagMs = nonceGraceMs + 10_000;
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() - lagMs);
    const gateway = await h.startGateway();
    try {
      // Fresh by this host's clock (2 s ahead of it), long stale by the database's.
      const signedAt = Math.floor(Date.now() / 1000) + 2;
      expect((await databaseMs(h.db)) - signedAt * 1000).toBeGreaterThan(nonceGraceMs + windowMs);
      const captured = h.signed(key, body(), { timestamp: signedAt });
      await h.publish(captured);
      await until(async () => (await auditOf(captured.messageId)).length === 1, {
        what: 'the first decision',
      });
      // The sweeper, by the database's clock, would drop a nonce recorded for this message.
      while ((await sweepNonces(h.db, 100)) > 0) {}
      await h.publish(captured);
      await until(async () => (await auditOf(captured.messageId)).length === 2, {
        what: 'the replay decision',
      });
      const [first, replay] = await auditOf(captured.messageId);
      expect([first!.outcome, replay!.outcome]).not.toEqual(['accepted', 'accepted']);
      // Refused by the replay protection itself, not only by the job id's uniqueness (`duplicate`).
      expect(replay).toMatchObject({ outcome: 'rejected' });
      expect(['stale_timestamp', 'replayed_nonce']).toContain(replay!.reason);
    } finally {
      await gateway.stop();
    }
  });
});

function throwsStale(check: () => void): boolean {
  try {
    check();
    return false;
  } catch (error) {
    if ((error as { reason?: string }).reason === 'stale_timestamp') return true;
    throw error;
  }
}
