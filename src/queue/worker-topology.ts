// What workers add to the topology: retry queues, one per backoff delay and lane, and the
// dead-letter queue. A retry queue holds a task for its TTL, then the broker dead-letters it back
// to the tasks exchange on its lane, adding an `x-death` entry: the attempt count lives there.
// One queue per delay because a queue expires messages only from its head: a per-message TTL in
// a shared queue would hold a 1 s retry behind a 2 min one.
import { type QueueSpec, type TaskLane, type Topology, taskLaneRoutingKeys } from './topology.js';

export interface WorkerTopology {
  /** Tasks that failed for good after every attempt (or could not be read), with the last error. */
  readonly deadLetterQueue: string;
  /** The retry queue a task waits in before attempt `attempt + 1` (attempt ≥ 1). */
  retryQueue(lane: TaskLane, attempt: number): string;
  readonly queues: readonly QueueSpec[];
}

export function workerTopology(names: Topology, retryDelaysMs: readonly number[]): WorkerTopology {
  const retryName = (lane: TaskLane, delayMs: number) => `${names.tasksQueue}.retry.${lane}.${delayMs}ms`;
  const lanes: TaskLane[] = ['normal', 'priority'];
  const delays = [...new Set(retryDelaysMs)];
  const retryQueues: QueueSpec[] = lanes.flatMap((lane) =>
    delays.map((delayMs) => ({
      name: retryName(lane, delayMs),
      type: 'quorum' as const,
      bindings: [],
      arguments: {
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': names.tasksExchange,
        'x-dead-letter-routing-key': taskLaneRoutingKeys[lane],
        // Quorum queues dead-letter at most once unless told otherwise; a retry must not vanish.
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    })),
  );
  const deadLetterQueue = `${names.tasksQueue}.dead`;
  return {
    deadLetterQueue,
    retryQueue(lane, attempt) {
      const delayMs = retryDelaysMs[Math.min(attempt, retryDelaysMs.length) - 1]!;
      return retryName(lane, delayMs);
    },
    queues: [...retryQueues, { name: deadLetterQueue, type: 'quorum', bindings: [] }],
  };
}
