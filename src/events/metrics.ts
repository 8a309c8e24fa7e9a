import { Counter, Histogram, type Registry } from 'prom-client';
import type { EventCounts } from './consumer.js';

export interface EventMetrics {
  /** Adds a committed batch's counts (countOutcomes) to clearcut_events_records_total. */
  countOutcomes(counts: EventCounts): void;
  /** clearcut_events_batch_seconds: time to decide and commit one batch of event messages. */
  readonly batchSeconds: Histogram;
}

/** What a standalone `clearcut events` also counts: it publishes the tasks and result events itself. */
export interface EventDispatchMetrics {
  readonly tasksPublished: Counter<'lane'>;
  readonly resultEventsPublished: Counter;
}

export function createEventMetrics(registry: Registry): EventMetrics {
  const records = new Counter({
    name: 'clearcut_events_records_total',
    help: 'S3 event records decided, by outcome: accepted, rejected, duplicate, ignored_not_created, ignored_own_output, ignored_no_rule, malformed.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'clearcut_events_batch_seconds',
    help: 'Time to decide and commit one batch of S3 event messages.',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    batchSeconds,
    countOutcomes(counts) {
      for (const [outcome, count] of Object.entries(counts)) records.inc({ outcome }, count);
    },
  };
}

export function createEventDispatchMetrics(registry: Registry): EventDispatchMetrics {
  return {
    tasksPublished: new Counter({
      name: 'clearcut_events_tasks_published_total',
      help: 'Tasks released to the tasks exchange and confirmed by the broker by a standalone event consumer, by lane.',
      labelNames: ['lane'] as const,
      registers: [registry],
    }),
    resultEventsPublished: new Counter({
      name: 'clearcut_events_result_events_published_total',
      help: 'Result events published from the outbox and confirmed by the broker by a standalone event consumer.',
      registers: [registry],
    }),
  };
}
