import { expect, it } from 'vitest';
import { jobSchema } from '../../src/contracts/job.js';
import { createAdmittedJobs } from '../../src/gateway/admitted-jobs.js';
import type { JobForTasks, TaskOutbox } from '../../src/jobs/task-queue.js';

// The dispatcher's job reads, served from the jobs this gateway admitted (src/gateway/admitted-jobs.ts).

const spec = jobSchema.parse({
  version: 1,
  input: { bucket: 'catalog', key: 'a.jpg' },
  output: { bucket: 'cutouts', prefix: 'out/' },
});
const job = (jobId: string): JobForTasks => ({
  tenantId: 'acme',
  jobId,
  keyId: null,
  spec,
  model: 'u2net',
  lane: 'normal',
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

/** An outbox whose job reads answer from "the database" and are recorded. */
function databaseOutbox(): TaskOutbox & { asked: string[][] } {
  const asked: string[][] = [];
  const refuse = () => Promise.reject(new Error('not used here'));
  return {
    asked,
    releasing: refuse,
    reclaimUnpublished: refuse,
    failTasksOfUnreadableJob: refuse,
    markPublished: refuse,
    abandonLeases: refuse,
    async jobsForTasks(refs) {
      asked.push(refs.map((ref) => ref.jobId));
      return refs.map((ref) => job(`${ref.jobId} from the database`));
    },
  };
}

it('reads back only the jobs it does not remember, and forgets the oldest beyond its capacity', async () => {
  const admitted = createAdmittedJobs(2);
  const database = databaseOutbox();
  const outbox = admitted.serving(database);
  admitted.remember([job('a'), job('b')]);
  admitted.remember([job('c')]); // 'a' is forgotten

  const read = await outbox.jobsForTasks(['a', 'b', 'c', 'd'].map((jobId) => ({ tenantId: 'acme', jobId })));
  expect(read.map((j) => j.jobId)).toEqual(['b', 'c', 'a from the database', 'd from the database']);
  expect(database.asked).toEqual([['a', 'd']]);

  expect(await outbox.jobsForTasks([{ tenantId: 'acme', jobId: 'c' }])).toEqual([job('c')]);
  expect(await outbox.jobsForTasks([{ tenantId: 'other', jobId: 'c' }])).toEqual([
    job('c from the database'),
  ]);
  expect(database.asked).toEqual([['a', 'd'], ['c']]);
});
