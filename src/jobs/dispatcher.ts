import type { TaskInput } from '../contracts/task.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { OutboundMessage, Publisher } from '../queue/bus.js';
import { type Topology, taskLaneRoutingKeys } from '../queue/topology.js';
import { jobRefKey } from './job-store.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import {
  isUnreadableJob,
  type JobForTasks,
  type ReleasedTask,
  type ReleaseOptions,
  type TaskOutbox,
  taskOutbox,
} from './task-queue.js';
import { type UnreadableJob, unreadableForGood } from './unreadable-jobs.js';

/** What one dispatch round needs: the outbox, the broker, where tasks go. */
export interface DispatchRoundOptions extends ReleaseOptions {
  readonly publisher: Publisher;
  readonly names: Topology;
  readonly onPublished?: (lane: 'normal' | 'priority', count: number) => void;
  /**
   * A job whose stored spec fails its contract: its `tasks` were not published; `failed` when they
   * were failed with invalid_job (else they wait for their lease to run out: unreadable-jobs.ts).
   */
  readonly onUnreadableJob?: (job: UnreadableJob, tasks: number, failed: boolean) => void;
}

export interface DispatcherOptions extends DispatchRoundOptions {
  readonly db: Database;
  /** The task outbox on `db`, when its owner serves some of it from memory (default: all SQL). */
  readonly outbox?: TaskOutbox;
  readonly idleMs: number;
  readonly log: Logger;
}

/**
 * Fairness: releases each tenant's tasks only within its in-flight window, round robin across
 * tenants, then publishes them with confirms. Publishing after the release commits means a crash
 * can publish a task twice (the lease runs out, another round republishes it) but never lose one.
 */
export const roundsPerPublish = 10;

export function createDispatcher(options: DispatcherOptions): PollLoop {
  const outbox = options.outbox ?? taskOutbox(options.db);
  return createPollLoop({
    name: 'task dispatcher',
    idleMs: options.idleMs,
    log: options.log,
    step: () =>
      dispatchRound(outbox, {
        onUnreadableJob: (job, tasks, failed) =>
          options.log[failed ? 'error' : 'warn'](
            { tenant: job.tenantId, job: job.jobId, tasks, problem: job.problem },
            failed
              ? 'a job no longer matches the job contract: its tasks were failed with invalid_job'
              : 'a job does not match this version of the job contract: its tasks are left to other gateways for now',
          ),
        ...options,
      }),
  });
}

/** One round: release (several fair rounds), reclaim, publish with confirms, record; returns the count. */
export async function dispatchRound(outbox: TaskOutbox, options: DispatchRoundOptions): Promise<number> {
  // Several fair rounds per publish, in one transaction: one commit and one confirm wait cover them all.
  const released = await outbox.releasing(async (release) => {
    const tasks: ReleasedTask[] = [];
    for (let round = 0; round < roundsPerPublish; round++) {
      const batch = await release(options);
      tasks.push(...batch);
      if (batch.length < options.quantum) break;
      // One tenant alone filled the round: nobody to take turns with, so its other rounds are one
      // statement (each round locks and updates its counter row: 10 rounds of 50 cost PostgreSQL
      // ~20 µs more per task than one of 500, bench/gateway-statements.ts).
      if (round === 0 && batch.every((task) => task.tenantId === batch[0]!.tenantId)) {
        tasks.push(...(await release({ ...options, quantum: options.quantum * (roundsPerPublish - 1) })));
        break;
      }
    }
    return tasks;
  });
  const reclaimed = await outbox.reclaimUnpublished(options.quantum * options.maxTenants, options.leaseMs);
  const tasks = [...released, ...reclaimed];
  if (tasks.length === 0) return 0;
  const refs = new Map(tasks.map((t) => [jobRefKey(t), t]));
  const jobs = new Map((await outbox.jobsForTasks([...refs.values()])).map((j) => [jobRefKey(j), j]));
  const publishable = tasks.flatMap((task) => {
    const job = jobs.get(jobRefKey(task))!;
    return isUnreadableJob(job) ? [] : [[task, job] as const];
  });
  if (publishable.length > 0) await publishTasks(outbox, publishable, options);
  // After the others went out: a job no process can read by now fails; a younger one keeps its
  // lease, and another (perhaps newer) gateway's dispatcher takes its tasks once it runs out.
  for (const job of [...jobs.values()].filter(isUnreadableJob)) {
    const ids = tasks.filter((task) => jobRefKey(task) === jobRefKey(job)).map((task) => task.id);
    const failed = unreadableForGood(job);
    if (failed) await outbox.failTasksOfUnreadableJob(ids, job);
    options.onUnreadableJob?.(job, ids.length, failed);
  }
  return tasks.length;
}

/**
 * Publishes released tasks with confirms, then records them published; gives the leases back at
 * once when the broker refuses. A dispatcher round's, or those admission released to its gateway.
 */
export async function publishTasks(
  outbox: Pick<TaskOutbox, 'markPublished' | 'abandonLeases'>,
  publishable: readonly (readonly [ReleasedTask, JobForTasks])[],
  options: Pick<DispatchRoundOptions, 'publisher' | 'names' | 'onPublished'>,
): Promise<void> {
  const messages = publishable.map(([task, job]) => taskMessage(task, job, options.names));
  const ids = publishable.map(([task]) => task.id);
  try {
    await options.publisher.publish(messages);
  } catch (error) {
    await outbox.abandonLeases(ids).catch(() => {}); // else the lease runs out first
    throw error;
  }
  await outbox.markPublished(ids);
  for (const lane of ['normal', 'priority'] as const) {
    const count = messages.filter((m) => m.routingKey === taskLaneRoutingKeys[lane]).length;
    if (count > 0) options.onPublished?.(lane, count);
  }
}

function taskMessage(task: ReleasedTask, job: JobForTasks, names: Topology): OutboundMessage {
  const { spec } = job;
  const body: TaskInput = {
    version: 1,
    taskId: task.id,
    tenant: task.tenantId,
    jobId: task.jobId,
    item: task.item,
    ...(job.keyId === null ? {} : { keyId: job.keyId }),
    source: { bucket: task.sourceBucket, key: task.sourceKey },
    output: spec.output,
    ...(spec.outputKeyTemplate === undefined ? {} : { outputKeyTemplate: spec.outputKeyTemplate }),
    renditions: spec.renditions,
    model: job.model,
    priority: spec.priority ?? 'normal',
    attempt: 1,
    createdAt: job.createdAt.toISOString(),
  };
  return {
    exchange: names.tasksExchange,
    routingKey: taskLaneRoutingKeys[job.lane],
    // Same id on every publication of this task: workers drop copies by it.
    messageId: task.id,
    body: Buffer.from(JSON.stringify(body)),
  };
}
