import type { Queryable } from '../db/database.js';
import { jsonParameter } from '../db/json-parameter.js';

/** A result event waiting in the outbox for the relay to publish. */
export interface OutboxEvent {
  readonly routingKey: string;
  /** Stable per event, so consumers can drop the copy a relay crash may publish twice. */
  readonly messageId: string;
  readonly body: string;
}

export interface ClaimedEvent extends OutboxEvent {
  readonly id: string;
}

/**
 * Queues events in the caller's transaction: they are published only if it commits. With
 * `leaseMs`, they are leased to the caller, who publishes them right after the commit (the relays
 * take them if it has not within the lease), and returned with their ids, in order; else none are.
 */
export async function enqueueEvents(
  q: Queryable,
  events: readonly OutboxEvent[],
  leaseMs?: number,
): Promise<ClaimedEvent[]> {
  if (events.length === 0) return [];
  // One JSON parameter: as elements of a text array, pg would escape every body's quotes again.
  const values = jsonParameter(
    events.map(({ routingKey, messageId, body }) => ({ routingKey, messageId, body })),
  );
  const rows = `SELECT "routingKey", "messageId", body
     FROM json_to_recordset($1::json) AS e("routingKey" text, "messageId" text, body text)`;
  if (leaseMs === undefined) {
    await q.query(`INSERT INTO outbox (routing_key, message_id, body) ${rows}`, [values]);
    return [];
  }
  const inserted = await q.query<{ id: string; messageId: string }>(
    `INSERT INTO outbox (routing_key, message_id, body, lease_until)
     SELECT e.*, now() + make_interval(secs => $2::double precision / 1000) FROM (${rows}) e
     RETURNING id::text, message_id AS "messageId"`,
    [values, leaseMs],
  );
  const ids = new Map(inserted.map((row) => [row.messageId, row.id]));
  return events.map((event) => ({ ...event, id: ids.get(event.messageId)! }));
}

/** Leases up to `limit` events no other relay holds, oldest first. */
export async function claimEvents(q: Queryable, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
  return q.query<ClaimedEvent>(
    `UPDATE outbox SET lease_until = now() + make_interval(secs => $2::double precision / 1000)
     WHERE id IN (
       SELECT id FROM outbox WHERE lease_until < now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     RETURNING id::text, routing_key AS "routingKey", message_id AS "messageId", body`,
    [limit, leaseMs],
  );
}

/** Called after the broker confirmed the events: they are sent. */
export async function deleteEvents(q: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await q.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]);
}

/** Publishing these failed (the broker is away): the next round takes them again, not after the lease. */
export async function abandonEvents(q: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) {
    await q.query(`UPDATE outbox SET lease_until = '-infinity' WHERE id = ANY($1::bigint[])`, [ids]);
  }
}
