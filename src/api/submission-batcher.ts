import { isTransientDatabaseError } from '../db/transient-errors.js';
import type { Logger } from '../log.js';
import type { JobSubmission, Submission } from './job-submission.js';

// Concurrent POST /v1/jobs requests share admission transactions, as the AMQP gateway's batches
// do: what arrives while a batch is in the database goes into the next one. A batch that fails
// (a job the database will not store) is decided again one submission at a time, so one request
// cannot fail the others.

export interface SubmissionBatcher {
  submit(submission: JobSubmission): Promise<Submission>;
}

interface Waiting {
  readonly submission: JobSubmission;
  resolve(result: Submission): void;
  reject(error: unknown): void;
}

const transientRetryDelaysMs = [50, 200, 500];

export function createSubmissionBatcher(options: {
  /** Decides a batch in one transaction (submitJobs); one result per submission, in order. */
  readonly decide: (batch: readonly JobSubmission[]) => Promise<Submission[]>;
  readonly maxBatch: number;
  readonly batchesInFlight: number;
  readonly log: Logger;
}): SubmissionBatcher {
  const waiting: Waiting[] = [];
  let inFlight = 0;
  // A deadlock or serialization failure with a concurrent transaction (another API process, a
  // gateway's dispatcher) goes away when retried; the client is waiting, so a few times only.
  async function decide(batch: readonly JobSubmission[]): Promise<Submission[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await options.decide(batch);
      } catch (error) {
        if (attempt >= transientRetryDelaysMs.length || !isTransientDatabaseError(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, transientRetryDelaysMs[attempt]));
      }
    }
  }

  async function run(batch: Waiting[]) {
    try {
      const results = await decide(batch.map((w) => w.submission));
      for (const [index, w] of batch.entries()) w.resolve(results[index]!);
    } catch (error) {
      if (batch.length === 1) batch[0]!.reject(error);
      else {
        options.log.warn(
          { err: error, size: batch.length },
          'HTTP job batch failed; deciding its jobs one by one',
        );
        for (const w of batch) await decide([w.submission]).then(([result]) => w.resolve(result!), w.reject);
      }
    }
  }

  function pump() {
    while (inFlight < options.batchesInFlight && waiting.length > 0) {
      inFlight += 1;
      void run(waiting.splice(0, options.maxBatch)).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  }

  return {
    submit(submission) {
      return new Promise<Submission>((resolve, reject) => {
        waiting.push({ submission, resolve, reject });
        pump();
      });
    },
  };
}
