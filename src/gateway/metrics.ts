import { Counter, Histogram, type Registry } from 'prom-client';
import type { Decided } from './decisions.js';

export interface GatewayMetrics {
  countDecisions(batch: readonly Decided[]): void;
  readonly batchSeconds: Histogram;
  readonly tasksPublished: Counter<'lane'>;
  readonly eventsPublished: Counter;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const messages = new Counter({
    name: 'clearcut_gateway_messages_total',
    help: 'Job messages decided, by outcome (accepted, rejected, redelivered) and rejection reason.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'clearcut_gateway_batch_seconds',
    help: 'Time to decide and commit one batch of job messages.',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const tasksPublished = new Counter({
    name: 'clearcut_gateway_tasks_published_total',
    help: 'Tasks released to the tasks exchange and confirmed by the broker, by lane.',
    labelNames: ['lane'] as const,
    registers: [registry],
  });
  const eventsPublished = new Counter({
    name: 'clearcut_gateway_result_events_published_total',
    help: 'Result events published from the outbox and confirmed by the broker.',
    registers: [registry],
  });
  return {
    countDecisions(batch) {
      for (const { decision } of batch) {
        const reason = decision.outcome === 'rejected' ? decision.rejection.reason : '';
        messages.inc({ outcome: decision.outcome, reason });
      }
    },
    batchSeconds,
    tasksPublished,
    eventsPublished,
  };
}
