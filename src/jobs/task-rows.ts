// The task rows a worker reads and ends: the store behind src/worker/task-handler.ts, which sees
// only this interface (unit tests hand it a fake).
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
