import type { Job } from '../contracts/job.js';
import type { TaskInput } from '../contracts/task.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { OutboundMessage, Publisher } from '../queue/bus.js';
import { type Topology, taskLaneRoutingKeys } from '../queue/topology.js';
import { jobRefKey } from './job-store.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import {
  abandonLeases,
  type JobForTasks,
  jobsForTasks,
  markPublished,
  type ReleasedTask,
  type ReleaseOptions,
  reclaimUnpublished,
  releaseTasks,
} from './task-queue.js';

export interface DispatcherOptions extends ReleaseOptions {
  readonly db: Database;
  readonly publisher: Publisher;
  readonly names: Topology;
  readonly idleMs: number;
  readonly log: Logger;
  readonly onPublished?: (lane: 'normal' | 'priority', count: number) => void;
}

/**
 * Fairness: releases each tenant's tasks only within its in-flight window, round robin across
 * tenants, then publishes them with confirms. Publishing after the release commits means a crash
 * can publish a task twice (the lease runs out, another round republishes it) but never lose one.
 */
const roundsPerPublish = 10;

export function createDispatcher(options: DispatcherOptions): PollLoop {
  return createPollLoop({
    name: 'task dispatcher',
    idleMs: options.idleMs,
    log: options.log,
    async step() {
      // Several fair rounds per publish: one confirm wait covers them all.
      const released: ReleasedTask[] = [];
      for (let round = 0; round < roundsPerPublish; round++) {
        const batch = await releaseTasks(options.db, options);
        released.push(...batch);
        if (batch.length < options.quantum) break;
      }
      const reclaimed = await reclaimUnpublished(
        options.db,
        options.quantum * options.maxTenants,
        options.leaseMs,
      );
      const tasks = [...released, ...reclaimed];
      if (tasks.length === 0) return 0;
      const refs = new Map(tasks.map((t) => [jobRefKey(t), t]));
      const jobs = new Map(
        (await jobsForTasks(options.db, [...refs.values()])).map((j) => [jobRefKey(j), j]),
      );
      const messages = tasks.map((task) => taskMessage(task, jobs.get(jobRefKey(task))!, options.names));
      const ids = tasks.map((t) => t.id);
      try {
        await options.publisher.publish(messages);
      } catch (error) {
        await abandonLeases(options.db, ids).catch(() => {}); // else the lease runs out first
        throw error;
      }
      await markPublished(options.db, ids);
      for (const lane of ['normal', 'priority'] as const) {
        const count = messages.filter((m) => m.routingKey === taskLaneRoutingKeys[lane]).length;
        if (count > 0) options.onPublished?.(lane, count);
      }
      return tasks.length;
    },
  });
}

function taskMessage(task: ReleasedTask, job: JobForTasks, names: Topology): OutboundMessage {
  const spec = job.spec as Job;
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
