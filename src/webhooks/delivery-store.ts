import type { WebhookEventType } from '../contracts/webhook-event.js';
import type { Database, Queryable } from '../db/database.js';

// SQL of the delivery loop: claiming due deliveries (several API processes at once: FOR UPDATE
// SKIP LOCKED, and the claim pushes next_attempt_at forward as a lease) and recording an attempt
// with its consequences for the delivery and the endpoint, in one transaction.

export interface ClaimedDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly tenantId: string;
  readonly messageId: string;
  readonly eventType: WebhookEventType;
  readonly body: string;
  /** Attempts made before this one. */
  readonly attempts: number;
  readonly url: string;
  readonly secretSealed: Buffer;
  /** The rotated-out secret while its grace period lasts. */
  readonly previousSecretSealed: Buffer | null;
}

/**
 * Leases up to `limit` due deliveries of enabled endpoints for `leaseMs`, soonest due first, so that
 * no endpoint has more than `perEndpoint` in flight counting `inFlight` (this process's attempts
 * under way): an endpoint that hangs or has a large backlog holds only its own share of the slots.
 */
export function claimDueDeliveries(
  q: Queryable,
  claim: { limit: number; perEndpoint: number; leaseMs: number; inFlight: ReadonlyMap<string, number> },
): Promise<ClaimedDelivery[]> {
  return q.query<ClaimedDelivery>(
    `UPDATE webhook_deliveries d
     SET next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
     FROM webhook_endpoints e
     WHERE e.id = d.endpoint_id AND d.id IN (
       SELECT due.id FROM webhook_endpoints ep
       CROSS JOIN LATERAL (
         SELECT id, next_attempt_at FROM webhook_deliveries
         WHERE endpoint_id = ep.id AND status = 'pending' AND next_attempt_at <= now()
         ORDER BY next_attempt_at
         LIMIT greatest(0, $3 - COALESCE(
           (SELECT busy.n FROM unnest($4::text[], $5::int[]) AS busy (id, n) WHERE busy.id = ep.id), 0))
         FOR UPDATE SKIP LOCKED
       ) due
       WHERE ep.disabled_at IS NULL
       ORDER BY due.next_attempt_at LIMIT $1
     )
     RETURNING d.id::text, d.endpoint_id AS "endpointId", d.tenant_id AS "tenantId", d.message_id AS "messageId",
       d.event_type AS "eventType", d.body, d.attempts, e.url, e.secret_sealed AS "secretSealed",
       CASE WHEN e.previous_secret_until > now() THEN e.previous_secret_sealed END AS "previousSecretSealed"`,
    [claim.limit, claim.leaseMs, claim.perEndpoint, [...claim.inFlight.keys()], [...claim.inFlight.values()]],
  );
}

export interface AttemptRecord {
  readonly attemptedAt: Date;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  readonly responseSnippet: string | null;
  readonly succeeded: boolean;
  /** Wait before the next attempt; null when this was the last one the schedule allows. */
  readonly retryInMs: number | null;
}

export interface DisablePolicy {
  /** Events in a row that used up all their attempts. */
  readonly afterEvents: number;
  /** Time every attempt has been failing. */
  readonly afterMs: number;
}

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed' | 'gone';

/**
 * Writes the attempt to the log and moves the delivery on (succeeded, retry later, failed for
 * good); on failure counts against the endpoint and disables it when the policy says so. 'gone'
 * when the delivery no longer exists (its endpoint was removed meanwhile) or another loop
 * recorded this attempt first. Returns the reason when this attempt disabled the endpoint.
 */
export async function recordAttempt(
  db: Database,
  delivery: ClaimedDelivery,
  record: AttemptRecord,
  disable: DisablePolicy,
): Promise<{ outcome: AttemptOutcome; disabledReason?: string }> {
  const attempt = delivery.attempts + 1;
  const outcome: AttemptOutcome = record.succeeded
    ? 'succeeded'
    : record.retryInMs === null
      ? 'failed'
      : 'retrying';
  return db.transaction(async (tx) => {
    const moved = await tx.query(
      `UPDATE webhook_deliveries
       SET attempts = $2, status = $3,
           next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4::double precision / 1000)
                             ELSE next_attempt_at END,
           finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
       WHERE id = $1 AND attempts = $2 - 1 AND status = 'pending'
       RETURNING 1`,
      [delivery.id, attempt, outcome === 'retrying' ? 'pending' : outcome, record.retryInMs ?? 0],
    );
    if (moved.length === 0) return { outcome: 'gone' as const };
    await tx.query(
      `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_snippet)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        delivery.id,
        attempt,
        record.attemptedAt,
        record.statusCode,
        record.latencyMs,
        record.error,
        record.responseSnippet,
      ],
    );
    if (record.succeeded) {
      await tx.query('UPDATE webhook_endpoints SET failing_since = NULL, failed_events = 0 WHERE id = $1', [
        delivery.endpointId,
      ]);
      return { outcome };
    }
    const [endpoint] = await tx.query<{ failedEvents: number; failingForMs: number; disabled: boolean }>(
      `UPDATE webhook_endpoints
       SET failing_since = COALESCE(failing_since, now()), failed_events = failed_events + $2
       WHERE id = $1
       RETURNING failed_events AS "failedEvents", disabled_at IS NOT NULL AS disabled,
         (extract(epoch FROM now() - failing_since) * 1000)::float8 AS "failingForMs"`,
      [delivery.endpointId, outcome === 'failed' ? 1 : 0],
    );
    const reason = endpoint && !endpoint.disabled ? disableReason(endpoint, disable) : undefined;
    if (reason === undefined) return { outcome };
    await tx.query('UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1', [
      delivery.endpointId,
      reason,
    ]);
    return { outcome, disabledReason: reason };
  });
}

function disableReason(
  endpoint: { failedEvents: number; failingForMs: number },
  policy: DisablePolicy,
): string | undefined {
  if (endpoint.failedEvents >= policy.afterEvents) {
    return `${endpoint.failedEvents} events in a row failed on every attempt`;
  }
  if (endpoint.failingForMs >= policy.afterMs)
    return `every attempt failed for ${spoken(endpoint.failingForMs)}`;
  return undefined;
}

function spoken(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
