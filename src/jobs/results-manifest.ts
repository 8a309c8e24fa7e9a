import { taskOutputListSchema } from '../contracts/result-event.js';
import type { Queryable } from '../db/database.js';
import { readStored } from '../db/stored-json.js';

// The results manifest of a job: JSON Lines written next to its outputs when the job completes.
// One line per item in item order, then one per recorded input entry that made no item (and one
// counting those past the expander's cap), then (if the listing stopped early) one saying why. The same job always gives the same bytes, so a
// finaliser that runs again after a crash overwrites the object with identical content.

export const resultsManifestContentType = 'application/x-ndjson';

/** `<output prefix>_clearcut/<job id>.results.jsonl`: under the output grant, apart from the outputs. */
export function resultsManifestKey(outputPrefix: string, jobId: string): string {
  return `${outputPrefix}_clearcut/${jobId}.results.jsonl`;
}

interface TaskRow {
  item: number;
  bucket: string;
  key: string;
  status: 'succeeded' | 'failed' | 'pending' | 'queued';
  outputs: unknown[] | null;
  errorCode: string | null;
  errorMessage: string | null;
}

interface ProblemRow {
  position: string;
  entry: string;
  code: string;
  message: string;
}

const pageSize = 1000;

/** The manifest lines of a job, read from the database a page at a time. */
export async function* resultsManifestLines(
  q: Queryable,
  job: {
    tenantId: string;
    jobId: string;
    /** Skipped entries counted on the job; those beyond the recorded ones get one "more" line. */
    skipped: number;
    truncated?: { code: string; message: string } | undefined;
  },
): AsyncGenerator<string> {
  for (let after = -1; ; ) {
    const rows = await q.query<TaskRow>(
      `SELECT item, source_bucket AS bucket, source_key AS key, status, outputs,
              error_code AS "errorCode", error_message AS "errorMessage"
       FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND item > $3 ORDER BY item LIMIT $4`,
      [job.tenantId, job.jobId, after, pageSize],
    );
    for (const row of rows) {
      yield JSON.stringify({
        item: row.item,
        source: { bucket: row.bucket, key: row.key },
        status: row.status,
        outputs: readStored(
          taskOutputListSchema,
          row.outputs ?? [],
          `tasks.outputs of item ${row.item} of job ${job.tenantId}/${job.jobId}`,
        ),
        error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
      });
    }
    if (rows.length < pageSize) break;
    after = rows.at(-1)!.item;
  }
  let listed = 0;
  for (let after = '0'; ; ) {
    const rows = await q.query<ProblemRow>(
      `SELECT position::text, entry, code, message FROM job_input_problems
       WHERE tenant_id = $1 AND job_id = $2 AND position > $3::bigint
       ORDER BY job_input_problems.position LIMIT $4`,
      [job.tenantId, job.jobId, after, pageSize],
    );
    listed += rows.length;
    for (const row of rows) {
      yield JSON.stringify({
        position: Number(row.position),
        entry: row.entry,
        status: 'skipped',
        error: { code: row.code, message: row.message },
      });
    }
    if (rows.length < pageSize) break;
    after = rows.at(-1)!.position;
  }
  const more = job.skipped - listed;
  if (more > 0) {
    const message = `and ${more} more skipped input entries, counted but not listed (only the first ${listed} are)`;
    yield JSON.stringify({ status: 'skipped', more, message });
  }
  if (job.truncated) yield JSON.stringify({ status: 'truncated', error: job.truncated });
}
