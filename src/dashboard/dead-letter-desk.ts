import type { Database } from '../db/database.js';
import { errorMessage } from '../errors.js';
import { browseQueue } from '../queue/amqp-browse.js';
import { type AmqpBus, connectAmqpBus } from '../queue/amqp-bus.js';
import { topologyNames } from '../queue/topology.js';
import {
  type ReplayCounts,
  type ReplaySelection,
  replayTaskDeadLetters,
} from '../worker/dead-letter-admin.js';

// The operator page's window on the broker: queue depths (dead-letter queues included) and the
// replay of dead-lettered tasks, exactly as `clearcut dlq replay` does it. The API process keeps
// no broker connection: each look opens one and closes it (operator pages are rare).

export interface QueueDepth {
  readonly queue: string;
  readonly role: string;
  /** Ready messages; null when the queue does not exist (yet). */
  readonly messages: number | null;
  readonly consumers: number | null;
}

export interface DeadLetterDesk {
  /** Every ClearCut queue with its depth; throws a readable error when the broker is unreachable. */
  depths(): Promise<QueueDepth[]>;
  replayTasks(selection: ReplaySelection): Promise<ReplayCounts>;
}

/** More dead letters than this are left for the next replay. */
const browseLimit = 10_000;

export function createDeadLetterDesk(options: {
  readonly brokerUrl: string;
  readonly prefix: string;
  readonly db: Database;
}): DeadLetterDesk {
  const names = topologyNames(options.prefix);
  const queues: [string, string][] = [
    [names.jobsQueue, 'signed jobs waiting for a gateway'],
    [names.eventsQueue, 'S3 events waiting for a gateway'],
    [names.tasksQueue, 'tasks waiting for a worker (normal lane)'],
    [names.priorityTasksQueue, 'tasks waiting for a worker (priority lane)'],
    [names.deadLetterQueues.jobs, 'dead-lettered jobs'],
    [names.deadLetterQueues.events, 'dead-lettered events'],
    [names.deadLetterQueues.tasks, 'dead-lettered tasks'],
  ];

  async function withBus<T>(work: (bus: AmqpBus) => Promise<T>): Promise<T> {
    let bus: AmqpBus;
    try {
      bus = await connectAmqpBus(options.brokerUrl, {
        connectionName: 'clearcut api dashboard',
        onConnectionLost: () => {},
      });
    } catch (error) {
      throw new Error(`RabbitMQ is not reachable from the API process (${errorMessage(error)})`);
    }
    try {
      return await work(bus);
    } finally {
      await bus.close();
    }
  }

  return {
    depths: () =>
      withBus(async (bus) => {
        const depths: QueueDepth[] = [];
        for (const [queue, role] of queues) {
          // A passive check of a missing queue closes its channel: one channel per queue.
          const channel = await bus.channel();
          channel.on('error', () => {}); // the 404 of a missing queue; answered below
          try {
            const { messageCount, consumerCount } = await channel.checkQueue(queue);
            depths.push({ queue, role, messages: messageCount, consumers: consumerCount });
            await channel.close();
          } catch {
            depths.push({ queue, role, messages: null, consumers: null });
          }
        }
        return depths;
      }),
    replayTasks: (selection) =>
      withBus(async (bus) => {
        const browse = await browseQueue(bus, names.deadLetterQueues.tasks, browseLimit);
        const publisher = await bus.publisher();
        try {
          return await replayTaskDeadLetters(options.db, publisher, names, browse.messages, selection);
        } finally {
          await publisher.close();
          await browse.close();
        }
      }),
  };
}
