import { jobRefKey } from '../jobs/job-store.js';
import type { JobForTasks, TaskOutbox } from '../jobs/task-queue.js';

// The jobs this gateway admitted lately, as its dispatcher reads them back to build their tasks
// (spec, model, lane, key, created_at). Reading a batch's jobs back and validating their specs
// again cost ~10 µs of PostgreSQL and ~9 µs of node per task (bench/gateway-statements.ts); the
// dispatcher now reads back only jobs another process admitted, or ones forgotten since. A job's
// row does not change these columns after admission, and the spec was validated by this very code
// moments before. Remembered only once the admission committed; the oldest are forgotten first.

export interface AdmittedJobs {
  /** Jobs whose admission has committed. */
  remember(jobs: readonly JobForTasks[]): void;
  /** `outbox`, reading the jobs remembered from memory instead of from the database. */
  serving(outbox: TaskOutbox): TaskOutbox;
}

/**
 * How many a gateway remembers: several times what its consumer holds unacked (the prefetch), as
 * the dispatcher reads a batch's jobs moments after it commits. More only costs the garbage
 * collector: every one is ~1 KiB kept alive.
 */
export const admittedJobsRemembered = 5_000;

export function createAdmittedJobs(capacity = admittedJobsRemembered): AdmittedJobs {
  const jobs = new Map<string, JobForTasks>();
  return {
    remember(admitted) {
      for (const job of admitted) jobs.set(jobRefKey(job), job);
      for (const key of jobs.keys()) {
        if (jobs.size <= capacity) break;
        jobs.delete(key);
      }
    },
    serving: (outbox) => ({
      ...outbox,
      async jobsForTasks(refs) {
        const known: JobForTasks[] = [];
        const others = refs.filter((ref) => {
          const job = jobs.get(jobRefKey(ref));
          if (job) known.push(job);
          return job === undefined;
        });
        return others.length === 0 ? known : [...known, ...(await outbox.jobsForTasks(others))];
      },
    }),
  };
}
