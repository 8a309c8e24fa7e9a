// One delivery from a tasks queue, from parse to ack. Every path ends in exactly one of: ack after
// the result is durable (task row + outbox event committed, or the task parked in a retry queue or
// the dead-letter queue with confirms), or a requeue when even that could not be made durable.
import { type Task, taskSchema } from '../contracts/task.js';
import { errorMessage } from '../errors.js';
import type { TaskCompletion, TaskOutcome } from '../jobs/task-completion.js';
import type { TaskRows } from '../jobs/task-rows.js';
import type { Logger } from '../log.js';
import type { Delivery, Publisher } from '../queue/bus.js';
import type { TaskLane } from '../queue/topology.js';
import type { WorkerTopology } from '../queue/worker-topology.js';
import { deadLetterMessage } from './dead-letters.js';
import type { TaskResult, WorkerMetrics } from './metrics.js';
import {
  processTask,
  type TaskProcessorDeps,
  type TaskProgress,
  type TaskStageTimings,
} from './process-task.js';
import { bounded, classifyFailure, decideFailure, type Failure, retriesFromHeaders } from './retry-policy.js';

export interface TaskHandlerDeps {
  readonly tasks: TaskRows;
  readonly publisher: Publisher;
  readonly topology: WorkerTopology;
  readonly processor: TaskProcessorDeps;
  readonly maxAttempts: number;
  readonly metrics: WorkerMetrics;
  readonly log: Logger;
  /** The last task of a job ended (reported exactly once per job): the job finaliser's hook. */
  readonly onJobCompleted?: (job: NonNullable<TaskCompletion['job']>) => Promise<void> | void;
}

export interface Acknowledger {
  ack(): void;
  requeue(): void;
}

export async function handleDelivery(
  delivery: Delivery,
  lane: TaskLane,
  settle: Acknowledger,
  deps: TaskHandlerDeps,
  signal?: AbortSignal,
): Promise<void> {
  const { log, metrics } = deps;
  const messageId = typeof delivery.messageId === 'string' ? delivery.messageId : undefined;
  const retries = retriesFromHeaders(delivery.headers);
  const received: Received = { delivery, messageId, lane, retries };
  try {
    const task = parseTask(delivery.body);
    if (typeof task === 'string') {
      await deadLetter(deps, received, {
        transient: false,
        code: 'invalid_task',
        message: bounded(task),
      });
      log.warn({ messageId, problem: task }, 'unreadable task sent to the dead-letter queue');
      metrics.tasks.inc({ result: 'dead_lettered' });
      settle.ack();
      return;
    }
    const attempt = task.attempt + retries;
    let status: string | undefined;
    try {
      status = await deps.tasks.status(task);
    } catch (error) {
      await retryOrDeadLetter(deps, received, classifyFailure(error));
      settle.ack();
      return;
    }
    if (status !== 'queued') {
      // Ended already (a redelivered or republished copy), or no row: nothing to do.
      if (status === undefined) log.warn({ taskId: task.taskId }, 'task has no row; dropped');
      metrics.tasks.inc({ result: 'duplicate' });
      settle.ack();
      return;
    }
    const progress: TaskProgress = { inferred: false };
    let outcome: TaskOutcome;
    let result: TaskResult = 'succeeded';
    let timings: TaskStageTimings | undefined;
    try {
      const processed = await processTask(task, deps.processor, progress, signal);
      timings = processed.timings;
      metrics.inferenceSeconds.observe(timings.inferenceMs / 1000);
      outcome = { status: 'succeeded', outputs: processed.outputs };
    } catch (error) {
      if (signal?.aborted) {
        // Shutdown cut it short: not a failed attempt. Back to the queue, untouched.
        settle.requeue();
        return;
      }
      const failure = classifyFailure(error);
      const decision = decideFailure(failure, retries, deps.maxAttempts);
      log.info({ taskId: task.taskId, attempt, code: failure.code, decision }, failure.message);
      if (decision === 'retry') {
        await retry(deps, received);
        settle.ack();
        return;
      }
      if (decision === 'dead-letter') await deadLetter(deps, received, failure);
      result = decision === 'dead-letter' ? 'dead_lettered' : 'failed';
      outcome = {
        status: 'failed',
        error: {
          code: failure.code,
          message:
            decision === 'dead-letter'
              ? bounded(`gave up after ${retries + 1} attempts: ${failure.message}`)
              : failure.message,
        },
        refund: !progress.inferred,
      };
    }
    const recording = performance.now();
    await record(deps, { task, attempt, outcome, result }, received);
    if (timings) observeStages(metrics, timings, performance.now() - recording);
    settle.ack();
  } catch (error) {
    // Nothing durable could be done (broker or database down): hand it back for another worker.
    log.error({ err: error, messageId }, 'task could not be settled; requeued');
    settle.requeue();
  }
}

/** A delivery and what was read off it once: the copies parked in retry or dead-letter queues need it. */
interface Received {
  readonly delivery: Delivery;
  readonly messageId: string | undefined;
  readonly lane: TaskLane;
  readonly retries: number;
}

interface Ended {
  readonly task: Task;
  readonly attempt: number;
  readonly outcome: TaskOutcome;
  readonly result: TaskResult;
}

async function record(
  deps: TaskHandlerDeps,
  { task, attempt, outcome, result }: Ended,
  received: Received,
): Promise<void> {
  let completion: TaskCompletion;
  try {
    completion = await deps.tasks.complete({ taskId: task.taskId, attempt }, outcome);
  } catch (error) {
    // A retry redoes the work and overwrites the same keys. A dead letter is already parked:
    // its row stays queued, and `clearcut dlq replay` republishes it.
    deps.log.warn({ err: error, taskId: task.taskId }, 'recording the task result failed');
    if (result !== 'dead_lettered') {
      await retryOrDeadLetter(deps, received, classifyFailure(error));
    }
    return;
  }
  deps.metrics.tasks.inc({ result: completion.applied ? result : 'duplicate' });
  deps.metrics.endToEndSeconds.observe((Date.now() - Date.parse(task.createdAt)) / 1000);
  if (completion.job?.completed) {
    try {
      await deps.onJobCompleted?.(completion.job);
    } catch (error) {
      deps.log.error({ err: error, jobId: completion.job.jobId }, 'job finalisation failed');
    }
  }
}

function observeStages(metrics: WorkerMetrics, timings: TaskStageTimings, recordMs: number): void {
  const stages: Record<string, number> = {
    gate: timings.gateMs,
    download: timings.downloadMs,
    decode: timings.decodeMs,
    preprocess: timings.preprocessMs,
    queue: timings.inferenceMs - timings.ortMs,
    ort: timings.ortMs,
    postprocess: timings.postprocessMs,
    render: timings.renderMs,
    upload: timings.uploadMs,
    record: recordMs,
  };
  for (const [stage, ms] of Object.entries(stages)) metrics.stageSeconds.observe({ stage }, ms / 1000);
}

function parseTask(body: Buffer): Task | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return `the task body is not JSON: ${errorMessage(error)}`;
  }
  const parsed = taskSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  return `the task does not match the task contract: ${parsed.error.issues
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ')}`;
}

/** For failures before or after the work itself (the database was unreachable): no row can be updated. */
async function retryOrDeadLetter(deps: TaskHandlerDeps, received: Received, failure: Failure): Promise<void> {
  if (received.retries + 1 < deps.maxAttempts) await retry(deps, received);
  else {
    await deadLetter(deps, received, failure);
    deps.metrics.tasks.inc({ result: 'dead_lettered' });
  }
}

/** Parks the task in the retry queue of its next delay; the broker hands it back with x-death counted. */
async function retry(deps: TaskHandlerDeps, { delivery, messageId, lane, retries }: Received): Promise<void> {
  const deaths = (delivery.headers as Record<string, unknown> | undefined)?.['x-death'];
  await deps.publisher.publish([
    {
      ...deps.topology.retryRoute(lane, retries + 1),
      body: delivery.body,
      ...(messageId === undefined ? {} : { messageId }),
      // The history travels with the copy, so the broker keeps counting where it left off.
      ...(deaths === undefined ? {} : { headers: { 'x-death': deaths } }),
    },
  ]);
  deps.metrics.tasks.inc({ result: 'retried' });
}

async function deadLetter(
  deps: TaskHandlerDeps,
  { delivery, messageId, lane, retries }: Received,
  failure: Failure,
): Promise<void> {
  await deps.publisher.publish([
    deadLetterMessage(deps.topology.deadLetterRoute, delivery.body, messageId, {
      lane,
      code: failure.code,
      message: failure.message,
      attempts: retries + 1,
      at: new Date().toISOString(),
    }),
  ]);
}
