import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import type { Topology } from '../queue/topology.js';
import { createDispatcher } from './dispatcher.js';
import { createOutboxRelay } from './outbox-relay.js';
import type { PollLoop } from './poll-loop.js';

// What every process that admits jobs runs beside its consumer: the dispatcher (tasks → the
// task queue, fairly per tenant) and the outbox relay (result events → the results exchange).

/** Tenants the dispatcher serves per round; the others wait for the next round. */
const maxTenantsPerRound = 100;
/** Outbox rows the relay claims and publishes at once. */
const relayBatchSize = 500;

export interface PublishingLoops {
  readonly dispatcher: PollLoop;
  readonly relay: PollLoop;
}

export interface PublishingOptions {
  readonly settings: Pick<Config['gateway'], 'dispatchQuantum' | 'dispatchIntervalMs' | 'publishLeaseMs'>;
  readonly db: Database;
  readonly publisher: Publisher;
  readonly names: Topology;
  readonly log: Logger;
  readonly onTasksPublished?: (lane: 'normal' | 'priority', count: number) => void;
  readonly onEventsPublished?: (count: number) => void;
}

export function createPublishingLoops(options: PublishingOptions): PublishingLoops {
  const { settings, db, publisher, log } = options;
  const common = {
    db,
    publisher,
    leaseMs: settings.publishLeaseMs,
    idleMs: settings.dispatchIntervalMs,
    log,
  };
  return {
    dispatcher: createDispatcher({
      ...common,
      names: options.names,
      quantum: settings.dispatchQuantum,
      maxTenants: maxTenantsPerRound,
      ...(options.onTasksPublished ? { onPublished: options.onTasksPublished } : {}),
    }),
    relay: createOutboxRelay({
      ...common,
      exchange: options.names.resultsExchange,
      batchSize: relayBatchSize,
      ...(options.onEventsPublished ? { onPublished: options.onEventsPublished } : {}),
    }),
  };
}
