import type { Queryable } from '../db/database.js';

// Signing doors (the gateway, the HTTP API) decide freshness (cc-timestamp), nonce expiry and key expiry by ONE clock: the
// database's, because PostgreSQL is where nonces live and are swept, and every gateway shares it.
// Reading it per message would cost a round trip; instead the offset of this host's clock is
// measured (at start, then at every nonce sweep) and applied, so `now()` stays synchronous.

export interface DatabaseClock {
  /** The database's time, as measured through this host's clock. */
  now(): Date;
  /** Measures the offset again; returns it in ms (database minus this host). */
  sync(): Promise<number>;
}

/** `local` is this host's clock; tests pass a skewed one. Resolves after the first measurement. */
export async function createDatabaseClock(
  q: Queryable,
  local: () => number = Date.now,
): Promise<DatabaseClock> {
  let offsetMs = 0;
  const clock: DatabaseClock = {
    now: () => new Date(local() + offsetMs),
    async sync() {
      const sent = local();
      const [row] = await q.query<{ ms: string }>(
        `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS ms`,
      );
      const received = local();
      // The database read its clock somewhere in the round trip: assume half way.
      offsetMs = Number(row!.ms) - (sent + received) / 2;
      return offsetMs;
    },
  };
  await clock.sync();
  return clock;
}
