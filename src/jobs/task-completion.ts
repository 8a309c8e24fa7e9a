import type { z } from 'zod';
import type { itemFailedEventSchema, itemSucceededEventSchema } from '../contracts/result-event.js';
import type { Queryable } from '../db/database.js';
import { refundImages } from '../policy/quotas.js';
import { enqueueWebhooks } from '../webhooks/outbox.js';
import { enqueueEvents } from './outbox.js';
import { itemFailedEvent, itemSucceededEvent, metadataOf } from './result-events.js';
import { checkJobSpec } from './unreadable-jobs.js';

// What a worker calls when a task ends (issue 4). Call it inside the transaction that records the
// task's result, and ack the task message only after that transaction commits.

export type TaskOutcome =
  | {
      readonly status: 'succeeded';
      readonly outputs: z.input<typeof itemSucceededEventSchema>['outputs'];
    }
  | {
      readonly status: 'failed';
      readonly error: z.input<typeof itemFailedEventSchema>['error'];
      /** The image never ran (refused before inference, dead-lettered): give its quota unit back. */
      readonly refund?: boolean;
    };

export interface TaskCompletion {
  /** False when the task had already ended (a redelivered or republished copy): nothing changed. */
  readonly applied: boolean;
  /** The job after this task, when applied. `completed` is true in exactly one call per job. */
  readonly job?: {
    readonly tenantId: string;
    readonly jobId: string;
    readonly total: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly completed: boolean;
  };
}

const completeSql = `
WITH done AS (
  UPDATE tasks
  SET status = $2, attempts = GREATEST(attempts, $3), error_code = $4, error_message = $5, outputs = $6,
      finished_at = now(), lease_until = NULL
  WHERE id = $1 AND status = 'queued'
  RETURNING tenant_id, job_id, item, source_bucket, source_key
), job AS (
  UPDATE jobs j
  SET succeeded = j.succeeded + ($2 = 'succeeded')::int,
      failed = j.failed + ($2 = 'failed')::int,
      state = CASE WHEN j.state = 'running' AND j.succeeded + j.failed + 1 = j.total THEN 'completed' ELSE j.state END,
      completed_at = CASE WHEN j.state = 'running' AND j.succeeded + j.failed + 1 = j.total THEN now() END
  FROM done WHERE j.tenant_id = done.tenant_id AND j.id = done.job_id
  RETURNING j.tenant_id, j.id, j.total, j.succeeded, j.failed, j.state, j.spec, j.reserved_at
), window_freed AS (
  -- Joined to the job's updated row, so it is locked after the job's (docs/jobs.md, Lock order).
  UPDATE tenant_dispatch d SET in_flight = d.in_flight - 1 FROM job WHERE d.tenant_id = job.tenant_id AND $7::boolean
)
SELECT done.item, done.source_bucket AS "sourceBucket", done.source_key AS "sourceKey",
       job.tenant_id AS "tenantId", job.id AS "jobId", job.total, job.succeeded, job.failed,
       job.state = 'completed' AS completed, job.spec, job.reserved_at AS "reservedAt"
FROM done JOIN job ON job.tenant_id = done.tenant_id AND job.id = done.job_id`;

const freeWindowSlotSql = 'UPDATE tenant_dispatch SET in_flight = in_flight - 1 WHERE tenant_id = $1';

interface CompletedRow {
  item: number;
  sourceBucket: string;
  sourceKey: string;
  tenantId: string;
  jobId: string;
  total: number;
  succeeded: number;
  failed: number;
  completed: boolean;
  spec: unknown;
  reservedAt: Date | null;
}

/**
 * Ends a task once: frees its slot in the tenant's in-flight window (so the dispatcher releases
 * the next one), counts it on its job, and queues its item.succeeded / item.failed event (with the
 * job's metadata, read from the job row it updates) and an item.failed's webhooks
 * (src/webhooks/outbox.ts). A second
 * call for the same task changes nothing and returns applied: false. When `completed` comes back
 * true, the gateway's job finaliser (job-finalizer.ts) writes the results manifest and then queues
 * job.completed; the worker may also call it at once.
 */
export async function completeTask(
  tx: Queryable,
  task: { readonly taskId: string; readonly attempt: number },
  outcome: TaskOutcome,
  at: Date = new Date(),
): Promise<TaskCompletion> {
  const failed = outcome.status === 'failed' ? outcome.error : undefined;
  const refund = outcome.status === 'failed' && outcome.refund === true;
  const [row] = await tx.query<CompletedRow>(completeSql, [
    task.taskId,
    outcome.status,
    task.attempt,
    failed?.code ?? null,
    failed?.message ?? null,
    outcome.status === 'succeeded' ? JSON.stringify(outcome.outputs) : null,
    !refund,
  ]);
  if (row === undefined) return { applied: false };
  const { tenantId, jobId, total, succeeded, failed: failedCount, completed } = row;
  // Read back only for the events' metadata: a spec that fails its contract (the dispatcher fails
  // such a job's tasks) must still let them end.
  const spec = checkJobSpec(row.spec, { tenantId, jobId });
  const about = {
    tenant: row.tenantId,
    jobId: row.jobId,
    taskId: task.taskId,
    item: row.item,
    source: { bucket: row.sourceBucket, key: row.sourceKey },
    attempt: task.attempt,
    ...metadataOf(spec.ok ? spec.value : undefined),
  };
  const events = [
    outcome.status === 'succeeded'
      ? itemSucceededEvent({ ...about, outputs: outcome.outputs }, at)
      : itemFailedEvent({ ...about, error: outcome.error }, at),
  ];
  await enqueueEvents(tx, events);
  if (outcome.status === 'failed') await enqueueWebhooks(tx, events);
  if (refund) {
    // The image counters before the dispatch counter, as admission and the expander take them:
    // the other way round, a refund and an admission of the tenant deadlocked.
    if (row.reservedAt !== null) await refundImages(tx, row.tenantId, 1, row.reservedAt);
    await tx.query(freeWindowSlotSql, [row.tenantId]);
  }
  return { applied: true, job: { tenantId, jobId, total, succeeded, failed: failedCount, completed } };
}
