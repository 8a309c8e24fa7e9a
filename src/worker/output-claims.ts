// Which item of a job writes each output object. Two items can map to one key (shoes/red.jpg and
// shoes/red.png under the default {key} template, a/x.jpg and b/x.jpg under {name});
// whichever claims the key first in PostgreSQL uploads it, the other fails with output_collision
// instead of silently overwriting it. One statement per task, whatever the number of outputs.
import type { Task } from '../contracts/task.js';
import type { Queryable } from '../db/database.js';
import { PermanentError } from '../errors.js';

/** Claims `keys` of the task's output bucket for the task, or throws PermanentError(output_collision). */
export type OutputClaims = (task: Task, keys: readonly string[]) => Promise<void>;

export function outputClaims(db: Queryable): OutputClaims {
  return async (task, keys) => {
    // ON CONFLICT DO UPDATE (to the same holder) returns the row a concurrent claim committed after
    // this statement's snapshot, where DO NOTHING would return nothing: every key comes back with
    // its holder. A retry of the same task finds its own claims and goes on. Keys are taken in
    // order, so two tasks claiming the same keys wait for each other instead of deadlocking.
    const taken = await db.query<{ key: string; source: string }>(
      `WITH claimed AS (
         INSERT INTO output_claims (tenant_id, job_id, bucket, key, task_id)
         SELECT $1, $2, $3, key, $5 FROM unnest($4::text[]) AS key ORDER BY key
         ON CONFLICT (tenant_id, job_id, bucket, key) DO UPDATE SET task_id = output_claims.task_id
         RETURNING key, task_id
       )
       SELECT c.key, 's3://' || t.source_bucket || '/' || t.source_key AS source
       FROM claimed c JOIN tasks t ON t.id = c.task_id
       WHERE c.task_id <> $5 ORDER BY c.key`,
      [task.tenant, task.jobId, task.output.bucket, [...new Set(keys)], task.taskId],
    );
    const [first] = taken;
    if (first === undefined) return;
    const others = taken.length > 1 ? ` (and ${taken.length - 1} more of its outputs)` : '';
    throw new PermanentError(
      'output_collision',
      `the output s3://${task.output.bucket}/${first.key}${others} is written by another item of this job, the source ${first.source}; rename one of the two sources, or give the job an output key template that keeps them apart`,
    );
  };
}
