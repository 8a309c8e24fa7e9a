import type { WebhookEventType } from '../contracts/webhook-event.js';
import type { Queryable } from '../db/database.js';

// Reads of webhook endpoints and their delivery log, for `clearcut webhooks list|deliveries` and the
// dashboard's webhook page. Never a secret. Scoped by tenant: `tenantId: null` (all tenants) is for
// operator tools only; a tenant-facing page always passes the signed-in tenant.

export interface WebhookEndpoint {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly disabledAt: Date | null;
  /** Why it was disabled: too many failed events in a row, or failing for too long. */
  readonly disabledReason: string | null;
  /** Since when every attempt failed; null after a success. */
  readonly failingSince: Date | null;
  /** Events in a row that used up all their attempts. */
  readonly failedEvents: number;
  /** After a rotation: until when the old secret also signs; null otherwise. */
  readonly previousSecretUntil: Date | null;
}

export interface WebhookAttempt {
  readonly attempt: number;
  readonly attemptedAt: Date;
  /** The receiver's status code; null when there was no answer (timeout, refused address, ...). */
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The first bytes of the answer (at most 1 KiB, as text). */
  readonly responseSnippet: string | null;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly tenantId: string;
  /** The webhook-id header: the same on every attempt of this event. */
  readonly messageId: string;
  readonly eventType: WebhookEventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** When the next attempt is due (pending deliveries only). */
  readonly nextAttemptAt: Date | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
  /** Every attempt, oldest first. */
  readonly log: readonly WebhookAttempt[];
}

export interface EndpointScope {
  /** The tenant whose endpoints are read; null for every tenant (operators only). */
  readonly tenantId: string | null;
}

export interface DeliveryScope extends EndpointScope {
  /** Only this endpoint's deliveries (still within the tenant, when one is given). */
  readonly endpointId?: string;
  /** Newest first, at most this many (default 50, at most 1000). */
  readonly limit?: number;
}

export const endpointColumns = `id, tenant_id AS "tenantId", url, events, disabled_at IS NULL AS enabled,
  created_at AS "createdAt", disabled_at AS "disabledAt", disabled_reason AS "disabledReason",
  failing_since AS "failingSince", failed_events AS "failedEvents",
  CASE WHEN previous_secret_until > now() THEN previous_secret_until END AS "previousSecretUntil"`;

/** The tenant's endpoints (or every tenant's), oldest first. */
export function listWebhookEndpoints(q: Queryable, scope: EndpointScope): Promise<WebhookEndpoint[]> {
  return q.query<WebhookEndpoint>(
    `SELECT ${endpointColumns} FROM webhook_endpoints
     WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY created_at, id`,
    [scope.tenantId],
  );
}

/** One endpoint, if it exists within the scope. */
export async function getWebhookEndpoint(
  q: Queryable,
  id: string,
  scope: EndpointScope,
): Promise<WebhookEndpoint | undefined> {
  const [endpoint] = await q.query<WebhookEndpoint>(
    `SELECT ${endpointColumns} FROM webhook_endpoints WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
    [id, scope.tenantId],
  );
  return endpoint;
}

interface DeliveryRow extends Omit<WebhookDelivery, 'log'> {
  readonly log: (Omit<WebhookAttempt, 'attemptedAt'> & { attemptedAt: string })[];
}

/** The most recent deliveries with their attempts, newest first. */
export async function recentWebhookDeliveries(
  q: Queryable,
  scope: DeliveryScope,
): Promise<WebhookDelivery[]> {
  const limit = Math.min(Math.max(scope.limit ?? 50, 1), 1000);
  const rows = await q.query<DeliveryRow>(
    `SELECT d.id::text, d.endpoint_id AS "endpointId", d.tenant_id AS "tenantId", d.message_id AS "messageId",
       d.event_type AS "eventType", d.status, d.attempts,
       CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS "nextAttemptAt",
       d.created_at AS "createdAt", d.finished_at AS "finishedAt",
       COALESCE((SELECT json_agg(json_build_object('attempt', a.attempt, 'attemptedAt', a.attempted_at,
                  'statusCode', a.status_code, 'latencyMs', a.latency_ms, 'error', a.error,
                  'responseSnippet', a.response_snippet) ORDER BY a.attempt)
                 FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS log
     FROM webhook_deliveries d
     WHERE ($1::text IS NULL OR d.tenant_id = $1) AND ($2::text IS NULL OR d.endpoint_id = $2)
     ORDER BY d.id DESC LIMIT $3`,
    [scope.tenantId, scope.endpointId ?? null, limit],
  );
  return rows.map((row) => ({
    ...row,
    log: row.log.map((attempt) => ({ ...attempt, attemptedAt: new Date(attempt.attemptedAt) })),
  }));
}
