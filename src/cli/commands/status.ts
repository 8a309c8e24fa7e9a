import { parseDuration } from '../../config/parsers.js';
import type { Database } from '../../db/database.js';
import { UsageError } from '../../errors.js';
import { findJobs, type JobProgress } from '../../jobs/job-progress.js';
import { tenantIdProblem } from '../../tenants/tenants.js';
import { withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

const usage = `Usage: clearcut status JOB [--tenant T] [--watch [--interval 1s]] [--json]

Shows the progress of a job from the database: a progress bar and the counts of items
(total, succeeded, failed, pending) and of input entries skipped while listing a prefix or manifest.

  --tenant T        the job's tenant (needed when two tenants used the same job id)
  --watch           print the progress again as it changes, until the job is finished
  --interval D      how often --watch looks (default 1s)
  --json            print the progress as JSON (one object per line with --watch)

Exit status: 0 shown (with --watch: finished with no failed item), 1 no such job, 2 bad usage,
5 (--watch) finished with failed items.`;

const options = {
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  watch: { type: 'boolean' },
  interval: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const itemsFailedExitCode = 5;

/** JOB and --tenant, checked; shared with `clearcut results`. */
export function jobArguments(command: string, positionals: string[], tenant: string | undefined) {
  const fail = (message: string): never => {
    throw new UsageError(`clearcut ${command}: ${message} (see \`clearcut ${command} --help\`)`);
  };
  if (positionals.length === 0) fail('the job id is required');
  if (positionals.length > 1) fail(`unexpected argument "${positionals[1]}"`);
  const jobId = positionals[0]!;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(jobId))
    fail(`"${jobId}" is not a job id (1–128 characters from A-Z a-z 0-9 _ -)`);
  const tenantProblem = tenant === undefined ? undefined : tenantIdProblem(tenant);
  if (tenantProblem) fail(`--tenant "${tenant}" ${tenantProblem}`);
  return { jobId, tenant };
}

/** The one job meant, or a message saying why there is none. */
export async function lookUpJob(
  db: Database,
  command: string,
  jobId: string,
  tenant: string | undefined,
): Promise<JobProgress | string> {
  const jobs = await findJobs(db, jobId, tenant);
  if (jobs.length === 0)
    return `clearcut ${command}: no job "${jobId}"${tenant ? ` for tenant ${tenant}` : ''}`;
  if (jobs.length > 1) {
    const tenants = jobs.map((job) => job.tenantId).join(', ');
    throw new UsageError(`clearcut ${command}: tenants ${tenants} each have a job "${jobId}": add --tenant`);
  }
  return jobs[0]!;
}

const barWidth = 24;

/** The lines `clearcut status` prints for a job. */
export function progressLines(job: JobProgress): string[] {
  const state = job.finalized ? 'finished' : job.state === 'expanding' ? 'listing its input' : job.state;
  const lines = [`job ${job.jobId} (tenant ${job.tenantId}): ${state}`];
  const ended = job.succeeded + job.failed;
  if (job.total === null) {
    lines.push(`  ${ended}/${job.listed} items ended; ${job.listed} listed so far (total not known yet)`);
  } else {
    const share = job.total === 0 ? 1 : ended / job.total;
    const filled = Math.round(share * barWidth);
    const percent = `${Math.floor(share * 100)}%`.padStart(4);
    lines.push(`  [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${percent}  ${ended}/${job.total}`);
  }
  lines.push(
    `  total ${job.total ?? '?'}  succeeded ${job.succeeded}  failed ${job.failed}  pending ${job.pending}  skipped ${job.skipped}`,
  );
  if (job.truncated) lines.push(`  listing stopped early (${job.truncated.code}): ${job.truncated.message}`);
  if (job.finalized && job.manifest) lines.push(`  results: s3://${job.manifest.bucket}/${job.manifest.key}`);
  return lines;
}

function show(io: CliIo, job: JobProgress, json: boolean) {
  if (json) printJson(io, job);
  else io.out(progressLines(job).join('\n'));
}

export const run: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('status', args, options);
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const { jobId, tenant } = jobArguments('status', positionals, values.tenant);
  if (values.interval !== undefined && !values.watch) {
    throw new UsageError('clearcut status: --interval needs --watch (see `clearcut status --help`)');
  }
  const intervalMs = values.interval === undefined ? 1000 : parseDuration(values.interval);
  if (intervalMs === undefined || intervalMs < 100) {
    throw new UsageError(
      `clearcut status: --interval "${values.interval}" must be a duration of at least 100ms, such as 500ms or 2s`,
    );
  }
  const json = values.json === true;
  return withDatabase(io, async (db) => {
    let shown = '';
    for (;;) {
      const job = await lookUpJob(db, 'status', jobId, tenant);
      if (typeof job === 'string') {
        io.err(job);
        return 1;
      }
      const text = JSON.stringify({ ...job, createdAt: undefined });
      if (text !== shown) show(io, job, json);
      shown = text;
      if (!values.watch) return 0;
      if (job.finalized) return job.failed > 0 ? itemsFailedExitCode : 0;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  });
};
