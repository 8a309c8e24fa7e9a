import { type WebhookEventType, webhookEventTypes } from '../contracts/webhook-event.js';
import type { Queryable } from '../db/database.js';

// Webhook deliveries are queued by the transaction that records what they announce (a task's
// failure in completeTask, a job's finalisation), from the result events that transaction queues
// for the results exchange: nothing is sent for an effect that did not commit, and nothing that
// committed is lost. One row per subscribed, enabled endpoint of the event's tenant.

/** A result event as src/jobs queues it (its JSON body and its id). */
export interface QueuedResultEvent {
  readonly messageId: string;
  readonly body: string;
}

interface WebhookRow {
  readonly tenantId: string;
  readonly messageId: string;
  readonly type: WebhookEventType;
  readonly body: string;
}

/** The webhook body of a result event: {type, timestamp, data}; undefined for kinds not sent as webhooks. */
export function webhookRowOf(event: QueuedResultEvent): WebhookRow | undefined {
  const {
    version: _version,
    eventId: _eventId,
    at,
    kind,
    ...data
  } = JSON.parse(event.body) as {
    version: number;
    eventId: string;
    at: string;
    kind: string;
    tenant: string | null;
  };
  if (!(webhookEventTypes as readonly string[]).includes(kind) || data.tenant === null) return undefined;
  return {
    tenantId: data.tenant,
    // The webhook-id is the result event's id: one event, one id, whichever way it is received.
    messageId: event.messageId,
    type: kind as WebhookEventType,
    body: JSON.stringify({ type: kind, timestamp: at, data }),
  };
}

/** Queues the webhooks of these result events in the caller's transaction. */
export async function enqueueWebhooks(tx: Queryable, events: readonly QueuedResultEvent[]): Promise<void> {
  const rows = events.map(webhookRowOf).filter((row) => row !== undefined);
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO webhook_deliveries (endpoint_id, tenant_id, message_id, event_type, body)
     SELECT e.id, e.tenant_id, w.message_id, w.event_type, w.body
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS w(tenant_id, message_id, event_type, body)
     JOIN webhook_endpoints e
       ON e.tenant_id = w.tenant_id AND e.disabled_at IS NULL AND w.event_type = ANY (e.events)
     ON CONFLICT (endpoint_id, message_id) DO NOTHING`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.messageId),
      rows.map((r) => r.type),
      rows.map((r) => r.body),
    ],
  );
}
