// What workers add to the topology: the retry exchange and its queues, one per backoff delay and
// lane. A retry queue holds a task for its TTL, then the broker dead-letters it back to the tasks
// exchange on its lane, adding an `x-death` entry: the attempt count lives there. One queue per
// delay because a queue expires messages only from its head: a per-message TTL in a shared queue
// would hold a 1 s retry behind a 2 min one. Workers park tasks through `<prefix>.retry` and
// `<prefix>.dead` (both declared with the gateway's topology), never the default exchange, so
// their broker user needs no write permission on any queue.
import type { OutboundMessage } from './bus.js';
import { type QueueSpec, type TaskLane, type Topology, taskLaneRoutingKeys } from './topology.js';

export interface WorkerTopology {
  /** Tasks that failed for good after every attempt (or could not be read), with the last error. */
  readonly deadLetterQueue: string;
  /** The retry queue a task waits in before attempt `attempt + 1` (attempt ≥ 1). */
  retryQueue(lane: TaskLane, attempt: number): string;
  /** Where to publish a task that waits in `retryQueue(lane, attempt)`. */
  retryRoute(lane: TaskLane, attempt: number): Pick<OutboundMessage, 'exchange' | 'routingKey'>;
  /** Where to publish a task that goes to the dead-letter queue. */
  readonly deadLetterRoute: Pick<OutboundMessage, 'exchange' | 'routingKey'>;
  readonly queues: readonly QueueSpec[];
}

export function workerTopology(names: Topology, retryDelaysMs: readonly number[]): WorkerTopology {
  const retryName = (lane: TaskLane, delayMs: number) => `${names.tasksExchange}.retry.${lane}.${delayMs}ms`;
  const lanes: TaskLane[] = ['normal', 'priority'];
  const delays = [...new Set(retryDelaysMs)];
  const retryQueues: QueueSpec[] = lanes.flatMap((lane) =>
    delays.map((delayMs) => {
      const name = retryName(lane, delayMs);
      return {
        name,
        type: 'quorum' as const,
        bindings: [{ exchange: names.retryExchange, routingKey: name }],
        arguments: {
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': names.tasksExchange,
          'x-dead-letter-routing-key': taskLaneRoutingKeys[lane],
          // Quorum queues dead-letter at most once unless told otherwise; a retry must not vanish.
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      };
    }),
  );
  const retryQueue = (lane: TaskLane, attempt: number) =>
    retryName(lane, retryDelaysMs[Math.min(attempt, retryDelaysMs.length) - 1]!);
  return {
    deadLetterQueue: names.deadLetterQueues.tasks,
    retryQueue,
    retryRoute: (lane, attempt) => ({ exchange: names.retryExchange, routingKey: retryQueue(lane, attempt) }),
    deadLetterRoute: { exchange: names.deadLetterExchange, routingKey: 'tasks' },
    queues: retryQueues,
  };
}
