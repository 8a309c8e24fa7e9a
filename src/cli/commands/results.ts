import { UsageError } from '../../errors.js';
import { jobFailures } from '../../jobs/job-progress.js';
import { withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { printJson } from '../format.js';
import type { Command } from '../io.js';
import { itemsFailedExitCode, jobArguments, lookUpJob } from './status.js';

const usage = `Usage: clearcut results JOB [--tenant T] [--limit N] [--json]

Prints where the results manifest of a finished job is (s3://BUCKET/KEY, JSON Lines: one line per
item with source, status, outputs and error; see docs/jobs.md) and lists its failed items and the
input entries skipped while listing it.

  --tenant T        the job's tenant (needed when two tenants used the same job id)
  --limit N         most failed items and skipped entries listed (default 20; the manifest has all)
  --json            print one JSON object

Exit status: 0 finished with no failed item, 1 no such job, 2 bad usage, 4 not finished yet,
5 finished with failed items.`;

const options = {
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const notFinishedExitCode = 4;

export const run: Command = async (args, io) => {
  const { values, positionals } = parseCommandArgs('results', args, options);
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const { jobId, tenant } = jobArguments('results', positionals, values.tenant);
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isSafeInteger(limit) || limit < 0 || !/^\d+$/.test(values.limit ?? '0')) {
    throw new UsageError(`clearcut results: --limit "${values.limit}" must be a whole number ≥ 0`);
  }
  return withDatabase(io, async (db) => {
    const job = await lookUpJob(db, 'results', jobId, tenant);
    if (typeof job === 'string') {
      io.err(job);
      return 1;
    }
    const { failed, skipped } = await jobFailures(db, job, limit);
    const exitCode = !job.finalized ? notFinishedExitCode : job.failed > 0 ? itemsFailedExitCode : 0;
    if (values.json) {
      printJson(io, { ...job, failedItems: failed, skippedEntries: skipped });
      return exitCode;
    }
    if (!job.finalized) {
      io.out(
        `job ${job.jobId} (tenant ${job.tenantId}) is not finished: ${job.succeeded + job.failed} of ${job.total ?? `${job.listed}+`} items ended; the results manifest is written when the last one ends`,
      );
    } else if (job.manifest) {
      io.out(`results manifest: s3://${job.manifest.bucket}/${job.manifest.key}`);
    } else {
      io.out(`no results manifest was written: ${job.manifestError ?? 'unknown reason'}`);
    }
    io.out(
      `total ${job.total ?? '?'}  succeeded ${job.succeeded}  failed ${job.failed}  pending ${job.pending}  skipped ${job.skipped}`,
    );
    if (job.truncated) io.out(`listing stopped early (${job.truncated.code}): ${job.truncated.message}`);
    const more = (shown: number, all: number) =>
      all > shown ? [`  … and ${all - shown} more (see the manifest)`] : [];
    if (failed.length > 0) {
      io.out(`failed items (${job.failed}):`);
      for (const f of failed) io.out(`  #${f.item} ${f.what}  ${f.code}: ${f.message}`);
      for (const line of more(failed.length, job.failed)) io.out(line);
    }
    if (skipped.length > 0) {
      io.out(`skipped input entries (${job.skipped}):`);
      for (const s of skipped) io.out(`  @${s.position} ${JSON.stringify(s.what)}  ${s.code}: ${s.message}`);
      for (const line of more(skipped.length, job.skipped)) io.out(line);
    }
    return exitCode;
  });
};
