import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import type { Topology } from '../queue/topology.js';
import { createDispatcher } from './dispatcher.js';
import { createOutboxRelay } from './outbox-relay.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import { completeTask } from './task-completion.js';
import { requeueStuckTasks, stuckForGood, type TaskOutbox } from './task-queue.js';

// What every process that admits jobs runs beside its consumer: the dispatcher (tasks → the
// task queue, fairly per tenant, with the stuck-task sweeper beside it) and the outbox relay
// (result events → the results exchange).

/** Tenants the dispatcher serves per round; the others wait for the next round. */
const maxTenantsPerRound = 100;
/** Outbox rows the relay claims and publishes at once. */
const relayBatchSize = 500;
/** Stuck tasks requeued per round. */
const stuckSweepBatch = 500;

/** Times a stuck task is handed back before it is failed (it keeps crashing workers, or is lost). */
const maxStuckRequeues = 2;

/** Fails the tasks handed back too often, so their job ends and their tenant's slot is freed. */
async function failStuckForGood(db: Database, stuckAfterMs: number, log: Logger): Promise<number> {
  const tasks = await stuckForGood(db, stuckSweepBatch, stuckAfterMs, maxStuckRequeues);
  for (const { taskId, requeues } of tasks) {
    const message = `never completed, though handed back to the workers ${requeues} times (lost, or crashing every worker: see \`clearcut dlq list --queue tasks\`)`;
    await db.transaction((tx) =>
      completeTask(
        tx,
        { taskId, attempt: requeues + 1 },
        {
          status: 'failed',
          error: { code: 'internal_error', message },
          refund: true,
        },
      ),
    );
    log.error({ taskId, requeues }, 'a task stuck in flight was failed');
  }
  return tasks.length;
}

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
  /** The dispatcher's task outbox, when the caller serves part of it from memory. */
  readonly outbox?: TaskOutbox;
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
    ...(options.outbox ? { outbox: options.outbox } : {}),
    ...(options.onTasksPublished ? { onPublished: options.onTasksPublished } : {}),
  });
  // Tasks in flight for longer than CLEARCUT_TASK_STUCK_AFTER go back to the dispatcher.
  const stuckTasks = createPollLoop({
    name: 'stuck-task sweeper',
    idleMs: Math.min(Math.max(settings.taskStuckAfterMs / 4, 100), 60_000),
    log,
    step: async () => {
      const requeued = await requeueStuckTasks(
        db,
        stuckSweepBatch,
        settings.taskStuckAfterMs,
        maxStuckRequeues,
      );
      if (requeued > 0) {
        log.warn(
          { requeued },
          'tasks in flight too long (lost or dead-lettered) handed back to the dispatcher',
        );
        dispatcher.nudge();
      }
      return requeued + (await failStuckForGood(db, settings.taskStuckAfterMs, log));
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
