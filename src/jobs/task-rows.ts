// The task rows a worker reads and ends (the store behind src/worker/task-handler.ts, which sees
// only the TaskRows interface; unit tests hand it a fake), and re-opens for `clearcut dlq replay`.
import type { Task } from '../contracts/task.js';
import type { Database } from '../db/database.js';
import { completeTask, type TaskCompletion, type TaskOutcome } from './task-completion.js';

export interface TaskRows {
  /** The row's status (`queued` while it may still run), or undefined when the task has no row. */
  status(task: Pick<Task, 'taskId' | 'tenant' | 'jobId'>): Promise<string | undefined>;
  /** Ends a queued task in one transaction (row, job counters, result event; see completeTask). */
  complete(
    task: { readonly taskId: string; readonly attempt: number },
    outcome: TaskOutcome,
  ): Promise<TaskCompletion>;
}

export function taskRows(db: Database): TaskRows {
  return {
    async status({ taskId, tenant, jobId }) {
      const [row] = await db.query<{ status: string }>(
        'SELECT status FROM tasks WHERE id = $1 AND tenant_id = $2 AND job_id = $3',
        [taskId, tenant, jobId],
      );
      return row?.status;
    },
    complete: (task, outcome) => db.transaction((tx) => completeTask(tx, task, outcome)),
  };
}

/**
 * A dead-lettered task goes back to work (`clearcut dlq replay`): a failed row becomes queued again
 * (its job counts it as pending, its tenant's in-flight window takes it back) under a publishing
 * lease of `leaseMs`, with the stuck-task sweeper's hand-backs counted afresh (a replay is a new
 * try). Returns the status it had, so the caller can tell no row, or one that succeeded since,
 * from a reopened one.
 */
export async function reopenFailedTask(
  db: Database,
  { taskId, tenant, jobId }: Pick<Task, 'taskId' | 'tenant' | 'jobId'>,
  leaseMs: number,
): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const [current] = await tx.query<{ status: string }>(
      'SELECT status FROM tasks WHERE id = $1 AND tenant_id = $2 AND job_id = $3 FOR UPDATE',
      [taskId, tenant, jobId],
    );
    if (current?.status === 'failed') {
      // The dispatch counter update joins the job's updated row, so it is locked after the job's
      // (docs/jobs.md, Lock order).
      await tx.query(
        `WITH reopened AS (
           UPDATE tasks SET status = 'queued', finished_at = NULL, error_code = NULL, error_message = NULL,
             outputs = NULL, published_at = NULL, stuck_requeues = 0,
             lease_until = now() + make_interval(secs => $2::double precision / 1000)
           WHERE id = $1 RETURNING tenant_id, job_id
         ), job AS (
           UPDATE jobs j SET failed = j.failed - 1,
             state = CASE WHEN j.state = 'completed' THEN 'running' ELSE j.state END, completed_at = NULL
           FROM reopened WHERE j.tenant_id = reopened.tenant_id AND j.id = reopened.job_id
           RETURNING j.tenant_id
         )
         UPDATE tenant_dispatch d SET in_flight = d.in_flight + 1 FROM job WHERE d.tenant_id = job.tenant_id`,
        [taskId, leaseMs],
      );
    }
    return current?.status;
  });
}
