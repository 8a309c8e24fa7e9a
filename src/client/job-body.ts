import { messageIdPattern } from '../contracts/identifiers.js';
import { type JobInput, parseJob } from '../contracts/job.js';
import { InvalidJobError } from './errors.js';

export const jobContentType = 'application/json';

/** A job as a producer writes it; `version` may be left out (the SDK fills in 1). */
export type JobRequest = Omit<JobInput, 'version'> & { readonly version?: JobInput['version'] };

/**
 * The bytes both transports sign and send, after the checks the admission core makes of a job id
 * and a body: a producer learns of a mistake here, not from a rejection.
 */
export function jobBody(job: JobRequest, jobId: string): Buffer {
  if (!messageIdPattern.test(jobId)) {
    throw new InvalidJobError([`jobId: "${jobId}" is not 1–128 characters from A-Z a-z 0-9 _ -`]);
  }
  const request = { version: 1, ...job };
  const parsed = parseJob(request);
  if (!parsed.ok) throw new InvalidJobError(parsed.problems);
  return Buffer.from(JSON.stringify(request), 'utf8');
}
