// A job whose stored spec fails this process's job contract. Either no process can read it (its
// row was changed by hand, or a contract was tightened after it was admitted), or a newer gateway
// admitted it during a rolling upgrade, with a field or value this version does not know, and the
// newer processes read it fine. The two look alike, so such a job is left to other processes for a
// while and failed as `invalid_job` only once it is older than any rolling upgrade takes.

import { type Job, jobSchema } from '../contracts/job.js';
import { checkStored, type StoredValue } from '../db/stored-json.js';

/** A job's stored spec read back through the job contract, or the problem naming the job's row. */
export function checkJobSpec(spec: unknown, job: { tenantId: string; jobId: string }): StoredValue<Job> {
  return checkStored(jobSchema, spec, `jobs.spec of job ${job.tenantId}/${job.jobId}`);
}

export interface UnreadableJob {
  readonly tenantId: string;
  readonly jobId: string;
  readonly createdAt: Date;
  /** Which row and which rules of the contract it breaks. */
  readonly problem: string;
}

/** How long after admission an unreadable job is left to other (perhaps newer) processes. */
export const unreadableJobGraceMs = 15 * 60_000;

/** Whether no process could read it by now: it is older than the grace period. */
export const unreadableForGood = (job: Pick<UnreadableJob, 'createdAt'>, now = new Date()): boolean =>
  now.getTime() - job.createdAt.getTime() >= unreadableJobGraceMs;
