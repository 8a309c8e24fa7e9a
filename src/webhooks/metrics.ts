import { Counter, type Registry } from 'prom-client';
import type { AttemptOutcome } from './delivery-store.js';

export interface WebhookMetrics {
  attempted(outcome: Exclude<AttemptOutcome, 'gone'>): void;
  disabled(): void;
}

/** The delivery loop's counters, on the /metrics of the process that runs it (`clearcut api`). */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const attempts = new Counter({
    name: 'clearcut_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: succeeded (2xx), retrying (failed, another attempt scheduled), failed (failed, no attempt left).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const disabled = new Counter({
    name: 'clearcut_webhook_endpoints_disabled_total',
    help: 'Webhook endpoints disabled because they kept failing.',
    registers: [registry],
  });
  return {
    attempted: (outcome) => attempts.inc({ outcome }),
    disabled: () => disabled.inc(),
  };
}
