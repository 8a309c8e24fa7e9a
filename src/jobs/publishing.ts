import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import type { Topology } from '../queue/topology.js';
import { createDispatcher } from './dispatcher.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import { requeueStuckTasks } from './task-queue.js';

// What every process that admits jobs runs beside its consumer: the dispatcher (tasks → the
// task queue, fairly per tenant, with the stuck-task sweeper beside it) and the outbox relay
// (result events → the results exchange).

/** Tenants the dispatcher serves per round; the others wait for the next round. */
const maxTenantsPerRound = 100;
/** Outbox rows the relay claims and publishes at once. */
const relayBatchSize = 500;
/** Stuck tasks requeued per round. */
const stuckSweepBatch = 500;

/** `main`, whose start and stop also start and stop `helper`. */
function startedTogether(main: PollLoop, helper: PollLoop): PollLoop {
  return {
    start() {
      main.start();
      helper.start();
    },
    nudge: () => main.nudge(),
    async stop() {
      await Promise.all([main.stop(), helper.stop()]);
    },
  };
}

export interface PublishingLoops {
  readonly dispatcher: PollLoop;
  readonly relay: PollLoop;
}

export interface PublishingOptions {
  readonly settings: Pick<
    Config['gateway'],
    'dispatchQuantum' | 'dispatchIntervalMs' | 'publishLeaseMs' | 'taskStuckAfterMs'
  >;
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
  const dispatcher = createDispatcher({
    ...common,
    names: options.names,
    quantum: settings.dispatchQuantum,
    maxTenants: maxTenantsPerRound,
    ...(options.onTasksPublished ? { onPublished: options.onTasksPublished } : {}),
  });
  // Tasks in flight for longer than CLEARCUT_TASK_STUCK_AFTER go back to the dispatcher.
  const stuckTasks = createPollLoop({
    name: 'stuck-task sweeper',
    idleMs: Math.min(Math.max(settings.taskStuckAfterMs / 4, 100), 60_000),
    log,
    async step() {
      const requeued = await requeueStuckTasks(db, stuckSweepBatch, settings.taskStuckAfterMs);
      if (requeued > 0) {
        log.warn(
          { requeued },
          'tasks in flight too long (lost or dead-lettered) handed back to the dispatcher',
        );
        dispatcher.nudge();
      }
      return requeued;
    },
  });
  return {
    dispatcher: startedTogether(dispatcher, stuckTasks),
    relay: createOutboxRelay({
      ...common,
      exchange: options.names.resultsExchange,
      batchSize: relayBatchSize,
      ...(options.onEventsPublished ? { onPublished: options.onEventsPublished } : {}),
    }),
  };
}
