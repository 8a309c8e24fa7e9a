import type { Queryable } from '../db/database.js';

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

/** Queues events in the caller's transaction: they are published only if it commits. */
export async function enqueueEvents(q: Queryable, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  // One JSON parameter: as elements of a text array, pg would escape every body's quotes again.
  await q.query(
    `INSERT INTO outbox (routing_key, message_id, body)
     SELECT "routingKey", "messageId", body FROM json_to_recordset($1::json) AS e("routingKey" text, "messageId" text, body text)`,
    [JSON.stringify(events.map(({ routingKey, messageId, body }) => ({ routingKey, messageId, body })))],
  );
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
