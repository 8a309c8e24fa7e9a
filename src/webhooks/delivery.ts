import type { WebhooksConfig } from '../config/webhooks.js';
import type { Database } from '../db/database.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { type ClaimedDelivery, claimDueDeliveries, recordAttempt } from './delivery-store.js';
import type { WebhookMetrics } from './metrics.js';
import { type Lookup, resolveTarget } from './resolve-target.js';
import { openWebhookSecret, signatureHeader } from './secrets.js';
import { type SendResult, sendWebhook } from './sender.js';
import { parseWebhookUrl } from './webhook-url.js';

// The delivery loop's work: claim what is due while slots are free, send it (each attempt vetted,
// signed and bounded), record every attempt. Attempts run in the background, so one slow receiver
// does not hold up the next claim; the caller drives `step` from a poll loop (src/api/service.ts)
// and nudges it when a slot frees up.

export interface DeliveryDeps {
  readonly db: Database;
  readonly masterKey: Buffer;
  readonly config: WebhooksConfig;
  readonly log: Logger;
  readonly metrics?: WebhookMetrics;
  /** DNS resolution (tests substitute one); DNS with a /etc/hosts fallback by default. */
  readonly lookup?: Lookup;
  /** An attempt ended and freed its slot: there may be more to claim now. */
  readonly onSettled?: () => void;
}

export interface WebhookDelivery {
  /** Claims due deliveries for the free slots and starts them; returns how many it started. */
  step(): Promise<number>;
  /** Resolves once every attempt started so far has ended and been recorded. */
  drain(): Promise<void>;
}

/** A claimed delivery is ours for a whole attempt and then some; after a crash another loop takes it. */
const leaseMarginMs = 30_000;

export function createWebhookDelivery(deps: DeliveryDeps): WebhookDelivery {
  const { config, log } = deps;
  // A quarter of the slots at most for one endpoint.
  const perEndpoint = Math.max(1, Math.floor(config.concurrency / 4));
  const busy = new Map<string, number>();
  const attempts = new Set<Promise<void>>();

  function start(delivery: ClaimedDelivery): void {
    busy.set(delivery.endpointId, (busy.get(delivery.endpointId) ?? 0) + 1);
    const attempt: Promise<void> = deliverOne(deps, delivery)
      .catch((error: unknown) =>
        // Not recorded (the database is away): sent again once its lease ends.
        log.warn({ err: error, delivery: delivery.id }, 'webhook attempt not recorded'),
      )
      .finally(() => {
        const left = (busy.get(delivery.endpointId) ?? 1) - 1;
        if (left === 0) busy.delete(delivery.endpointId);
        else busy.set(delivery.endpointId, left);
        attempts.delete(attempt);
        deps.onSettled?.();
      });
    attempts.add(attempt);
  }

  return {
    async step() {
      const free = config.concurrency - attempts.size;
      if (free <= 0) return 0;
      const claimed = await claimDueDeliveries(deps.db, {
        limit: free,
        perEndpoint,
        leaseMs: config.timeoutMs + leaseMarginMs,
        inFlight: busy,
      });
      for (const delivery of claimed) start(delivery);
      return claimed.length;
    },
    async drain() {
      while (attempts.size > 0) await Promise.allSettled([...attempts]);
    },
  };
}

async function deliverOne(deps: DeliveryDeps, delivery: ClaimedDelivery): Promise<void> {
  const { config, log } = deps;
  const attemptedAt = new Date();
  const result = await attempt(deps, delivery, attemptedAt);
  const status = result.statusCode;
  const succeeded = !result.broken && status !== null && status >= 200 && status < 300;
  const redirect = status !== null && status >= 300 && status < 400 ? 'redirects are not followed' : null;
  const { outcome, disabledReason } = await recordAttempt(
    deps.db,
    delivery,
    {
      attemptedAt,
      statusCode: status,
      latencyMs: result.latencyMs,
      error: result.error ?? redirect,
      responseSnippet: result.snippet,
      succeeded,
      retryInMs: succeeded ? null : (config.retryDelaysMs[delivery.attempts] ?? null),
    },
    { afterEvents: config.disableAfterEvents, afterMs: config.disableAfterMs },
  );
  if (outcome !== 'gone') deps.metrics?.attempted(outcome);
  const about = {
    endpoint: delivery.endpointId,
    tenant: delivery.tenantId,
    delivery: delivery.id,
    outcome,
    status,
  };
  if (!succeeded) log.info({ ...about, error: result.error }, 'webhook attempt failed');
  if (disabledReason !== undefined) {
    deps.metrics?.disabled();
    log.warn({ ...about, reason: disabledReason }, 'webhook endpoint disabled');
  }
}

/** One signed POST, or why none could be made; never throws. */
async function attempt(deps: DeliveryDeps, delivery: ClaimedDelivery, at: Date): Promise<SendResult> {
  const { config } = deps;
  const started = performance.now();
  const unsent = (error: string): SendResult => ({
    statusCode: null,
    broken: true,
    latencyMs: Math.round(performance.now() - started),
    error,
    snippet: null,
  });
  try {
    // The same checks as at `add`, again: settings and DNS answers change.
    const url = parseWebhookUrl(delivery.url, config);
    if (typeof url === 'string') return unsent(url);
    // The attempt's total timeout covers resolution too: a hung resolver fails the attempt
    // well within its lease.
    const target = await resolveTarget(
      url,
      { allowPrivate: config.allowPrivateAddresses },
      { lookup: deps.lookup, timeoutMs: config.timeoutMs },
    );
    const secrets = [delivery.secretSealed, delivery.previousSecretSealed]
      .filter((sealed) => sealed !== null)
      .map((sealed) => openWebhookSecret(deps.masterKey, delivery.endpointId, sealed));
    const headers = {
      'webhook-id': delivery.messageId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signatureHeader(secrets, delivery.messageId, at, delivery.body),
    };
    const sent = await sendWebhook(url, target, headers, delivery.body, config, {
      leftMs: config.timeoutMs - (performance.now() - started),
    });
    return { ...sent, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return unsent(errorMessage(error));
  }
}
