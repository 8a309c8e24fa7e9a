import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import type { Topology } from '../queue/topology.js';
import { createDispatcher, publishTasks, roundsPerPublish } from './dispatcher.js';
import type { ClaimedEvent } from './outbox.js';
import { createOutboxRelay, publishEvents } from './outbox-relay.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import { completeTask } from './task-completion.js';
import {
  type JobForTasks,
  type ReleasedTask,
  requeueStuckTasks,
  stuckForGood,
  type TaskOutbox,
  taskOutbox,
} from './task-queue.js';

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

/** Batches handed over and not yet published, beyond which admission stops handing over. */
const handOffBatchesWaitingAtMost = 4;

export interface PublishingLoops {
  readonly dispatcher: PollLoop;
  readonly relay: PollLoop;
  /** What the admitting consumer publishes itself right after its commit. */
  readonly handOff: HandOff;
}

/**
 * The admitting gateway's own publishing: the tasks admission released to it and the result events
 * it leased to it (src/admission/admit.ts `release`), published right after the commit, in commit
 * order, saving the dispatcher's release and the relay's claim. If this process dies first, or the
 * broker refuses, the leases run out (or are given back) and the dispatcher and relays publish
 * them, as after a crash of either.
 */
export interface HandOff {
  /**
   * How admission releases to this gateway now (leases of CLEARCUT_PUBLISH_LEASE), or undefined
   * while earlier batches still wait to be published (a slow broker): then admission leaves the
   * batch to the dispatcher and relays, so what waits in this process's memory stays bounded.
   */
  release(): { readonly leaseMs: number; readonly most: number } | undefined;
  publish(tasks: readonly (readonly [ReleasedTask, JobForTasks])[], events: readonly ClaimedEvent[]): void;
  /** Resolves once everything handed over has been published or given back. */
  settled(): Promise<void>;
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
  const relay = createOutboxRelay({
    ...common,
    exchange: options.names.resultsExchange,
    batchSize: relayBatchSize,
    ...(options.onEventsPublished ? { onPublished: options.onEventsPublished } : {}),
  });
  const outbox = taskOutbox(db);
  const release = { leaseMs: settings.publishLeaseMs, most: settings.dispatchQuantum * roundsPerPublish };
  let chain = Promise.resolve();
  let waiting = 0;
  const handOff: HandOff = {
    release: () => (waiting < handOffBatchesWaitingAtMost ? release : undefined),
    publish(tasks, events) {
      const publishing = async () => {
        try {
          // Events first, confirmed: a batch's `accepted` is out before its tasks can reach a worker.
          await publishEvents(events, {
            db,
            publisher,
            exchange: options.names.resultsExchange,
            ...(options.onEventsPublished ? { onPublished: options.onEventsPublished } : {}),
          });
        } catch (error) {
          // The events were given back to the relays; the tasks go back to the dispatcher unpublished.
          await outbox.abandonLeases(tasks.map(([task]) => task.id)).catch(() => {});
          throw error;
        }
        if (tasks.length > 0) {
          await publishTasks(outbox, tasks, {
            publisher,
            names: options.names,
            ...(options.onTasksPublished ? { onPublished: options.onTasksPublished } : {}),
          });
        }
      };
      waiting++;
      chain = chain
        .then(publishing)
        .catch((error: unknown) => {
          log.warn(
            { err: error, tasks: tasks.length, events: events.length },
            'publishing what admission handed over failed; the dispatcher and relay take it',
          );
          dispatcher.nudge();
          relay.nudge();
        })
        .finally(() => {
          waiting--;
        });
    },
    settled: () => chain,
  };
  return { dispatcher: startedTogether(dispatcher, stuckTasks), relay, handOff };
}
