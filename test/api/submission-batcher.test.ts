import { describe, expect, it } from 'vitest';
import type { JobSubmission, Submission } from '../../src/api/job-submission.js';
import { createSubmissionBatcher } from '../../src/api/submission-batcher.js';
import { createLogger } from '../../src/log.js';
import { until } from '../support/until.js';

// The batcher alone, with a fake decide: what arrives while batches are in the database goes into
// the next one, up to the batch size; a failing batch is decided again one submission at a time.

const submission = (jobId: string): JobSubmission => ({
  principal: { tenantId: 'acme', keyId: 'ck_test_AAAAAAAAAAAAAAAAAAAAAAAA', scopes: new Set(), nonce: null },
  jobId,
  body: Buffer.from(jobId),
});
const accepted = (jobId: string): Submission => ({
  kind: 'decided',
  decision: {
    outcome: 'accepted',
    job: { tenantId: 'acme', jobId, keyId: null, items: 1, lane: 'normal', model: 'u2net' },
  },
});

function gatedDecide() {
  const batches: string[][] = [];
  const gates: (() => void)[] = [];
  const decide = async (batch: readonly JobSubmission[]) => {
    batches.push(batch.map((s) => s.jobId));
    await new Promise<void>((open) => gates.push(open));
    return batch.map((s) => accepted(s.jobId));
  };
  return { batches, gates, decide };
}

describe('submission batcher', () => {
  it('groups what arrives while the batches in flight are in the database, up to the batch size', async () => {
    const { batches, gates, decide } = gatedDecide();
    const batcher = createSubmissionBatcher({
      decide,
      maxBatch: 3,
      batchesInFlight: 1,
      log: createLogger('silent'),
    });
    const answers = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => batcher.submit(submission(id)));
    expect(batches).toEqual([['a']]);
    gates.shift()!();
    await until(async () => batches.length === 2, { timeoutMs: 2000, what: 'the second batch' });
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    gates.shift()!();
    await until(async () => batches.length === 3, { timeoutMs: 2000, what: 'the third batch' });
    expect(batches).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
    gates.shift()!();
    const results = await Promise.all(answers);
    expect(
      results.map((r) => r.kind === 'decided' && r.decision.outcome === 'accepted' && r.decision.job.jobId),
    ).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('decides a failed batch again one by one, so only the request that breaks it fails', async () => {
    const seen: string[][] = [];
    const decide = async (batch: readonly JobSubmission[]) => {
      seen.push(batch.map((s) => s.jobId));
      if (batch.some((s) => s.jobId === 'bad')) throw new Error('cannot store');
      return batch.map((s) => accepted(s.jobId));
    };
    const batcher = createSubmissionBatcher({
      decide,
      maxBatch: 10,
      batchesInFlight: 1,
      log: createLogger('silent'),
    });
    const first = batcher.submit(submission('first'));
    const rest = ['x', 'bad', 'y'].map((id) => batcher.submit(submission(id)));
    await first;
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(seen).toEqual([['first'], ['x', 'bad', 'y'], ['x'], ['bad'], ['y']]);
  });

  it('retries a batch that met a deadlock, and fails one that keeps failing for another reason', async () => {
    let calls = 0;
    const decide = async (batch: readonly JobSubmission[]) => {
      calls += 1;
      if (calls === 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      return batch.map((s) => accepted(s.jobId));
    };
    const batcher = createSubmissionBatcher({
      decide,
      maxBatch: 10,
      batchesInFlight: 1,
      log: createLogger('silent'),
    });
    expect(await batcher.submit(submission('after-deadlock'))).toEqual(accepted('after-deadlock'));
    expect(calls).toBe(2);
    const broken = createSubmissionBatcher({
      decide: async () => {
        throw Object.assign(new Error('value too long'), { code: '22001' });
      },
      maxBatch: 10,
      batchesInFlight: 1,
      log: createLogger('silent'),
    });
    await expect(broken.submit(submission('never'))).rejects.toThrow('value too long');
  });
});
