// `clearcut dlq`: what is in the dead-letter queue, and putting tasks from it back to work.
import { type Task, taskSchema } from '../contracts/task.js';
import type { Database } from '../db/database.js';
import { markPublished } from '../jobs/task-queue.js';
import { reopenFailedTask } from '../jobs/task-rows.js';
import type { HeldMessage } from '../queue/amqp-browse.js';
import type { Publisher } from '../queue/bus.js';
import { type Topology, taskLaneRoutingKeys } from '../queue/topology.js';
import { type DeadLetter, readDeadLetter } from './dead-letters.js';

export interface DeadLetterEntry extends DeadLetter {
  /** The task as it arrived; undefined when the body was not a readable task. */
  readonly task: Task | undefined;
  readonly messageId: string | undefined;
}

export function describeDeadLetter(
  message: Pick<HeldMessage, 'body' | 'headers' | 'messageId'>,
): DeadLetterEntry {
  let task: Task | undefined;
  try {
    const parsed = taskSchema.safeParse(JSON.parse(message.body.toString('utf8')));
    if (parsed.success) task = parsed.data;
  } catch {
    task = undefined;
  }
  return {
    ...readDeadLetter(message.headers),
    task,
    messageId: typeof message.messageId === 'string' ? message.messageId : undefined,
  };
}

export type ReplaySelection =
  | { readonly all: true }
  | { readonly jobId: string }
  | { readonly taskIds: ReadonlySet<string> };

export function isSelected(entry: DeadLetterEntry, selection: ReplaySelection): boolean {
  if (entry.task === undefined) return false;
  if ('all' in selection) return true;
  if ('jobId' in selection) return entry.task.jobId === selection.jobId;
  return selection.taskIds.has(entry.task.taskId);
}

export type ReplayResult = 'replayed' | 'already_succeeded' | 'no_row';

/** Unpublished for this long, the gateway's dispatcher republishes a reopened task (we crashed). */
const republishLeaseMs = 60_000;

/**
 * Re-opens the task row (failed → queued: the job counts it as pending again and its tenant's
 * in-flight window takes it back), publishes the task with attempt + 1 and no x-death history (a
 * fresh set of retries), then records it published. The caller acks the dead letter afterwards.
 */
export async function replayDeadLetter(
  db: Database,
  publisher: Publisher,
  names: Topology,
  entry: DeadLetterEntry & { task: Task },
): Promise<ReplayResult> {
  const { task } = entry;
  const status = await reopenFailedTask(db, task, republishLeaseMs);
  if (status === undefined) return 'no_row';
  if (status === 'succeeded') return 'already_succeeded';
  const attempt = Math.max(task.attempt, entry.attempts) + 1;
  await publisher.publish([
    {
      exchange: names.tasksExchange,
      routingKey: taskLaneRoutingKeys[entry.lane],
      messageId: task.taskId,
      body: Buffer.from(JSON.stringify({ ...task, attempt })),
    },
  ]);
  await markPublished(db, [task.taskId]);
  return 'replayed';
}

export type ReplayCounts = Record<ReplayResult, number>;

/** Replays each selected task of a browse of the tasks dead-letter queue, acking it once handled. */
export async function replayTaskDeadLetters(
  db: Database,
  publisher: Publisher,
  names: Topology,
  messages: readonly HeldMessage[],
  selection: ReplaySelection,
): Promise<ReplayCounts> {
  const counts: ReplayCounts = { replayed: 0, already_succeeded: 0, no_row: 0 };
  for (const message of messages) {
    const entry = describeDeadLetter(message);
    if (entry.task === undefined || !isSelected(entry, selection)) continue;
    counts[await replayDeadLetter(db, publisher, names, { ...entry, task: entry.task })]++;
    message.ack();
  }
  return counts;
}
