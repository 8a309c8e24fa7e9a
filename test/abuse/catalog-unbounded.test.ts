import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimExpandingJob, releaseExpandingJob } from '../../src/catalog/expansion-store.js';
import { TransientError } from '../../src/errors.js';
import { createJobFinalizer, finalizeJob } from '../../src/jobs/job-finalizer.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { type CatalogHarness, createCatalogHarness, silent } from '../catalog/support.js';

// Producers that make catalogs unbounded: endless bad lines, an input that never reads, many jobs
// from one tenant, a manifest that trickles in. Real PostgreSQL and embedded S3 throughout.

let h: CatalogHarness;
let bucket: string;

beforeAll(async () => {
  h = await createCatalogHarness('abuse catalog unbounded');
  bucket = await h.s3.createBucket('unbounded');
}, 60_000);
afterAll(async () => h?.dispose());

const grants = () => [{ bucket, prefix: '', access: 'read' as const }];
const manifest = async (key: string, lines: readonly string[]) => {
  await h.s3.store.put(bucket, key, Buffer.from(lines.join('\n')), { contentType: 'text/plain' });
  return { manifest: { bucket, key } };
};

describe('a manifest of nothing but bad lines', () => {
  it('records skipped entries up to the cap, counts the rest, and the results manifest says how many more', async () => {
    const bad = Array.from({ length: 2_500 }, (_, i) => `{"key": ${i}}`);
    const tenant = await h.tenant({ grants: grants() });
    const output = { bucket, prefix: 'out/' };
    const jobId = await h.job(tenant, await manifest('lists/bad.jsonl', bad), output);

    await h.expand({ pageSize: 400, maxRecordedProblems: 1_000 });

    const [recorded] = await h.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM job_input_problems WHERE tenant_id = $1 AND job_id = $2',
      [tenant, jobId],
    );
    expect(recorded!.n).toBe(1_000);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'completed', total: 0, skipped: 2_500 });

    await finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId });
    const { body } = await h.s3.store.get(bucket, `out/_clearcut/${jobId}.results.jsonl`, {
      maxBytes: 1 << 22,
    });
    const lines = body
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(1_001);
    expect(lines.slice(0, 1_000).map((line) => line.position)).toEqual(
      bad.slice(0, 1_000).map((_, i) => i + 1),
    );
    expect(lines.at(-1)).toEqual({
      status: 'skipped',
      more: 1_500,
      message: 'and 1500 more skipped input entries, counted but not listed (only the first 1000 are)',
    });
  });
});

describe('an input that can never be read', () => {
  it('is retried with backoff a bounded number of times, then its listing ends as expansion_failed', async () => {
    const tenant = await h.tenant({ grants: grants() });
    const jobId = await h.job(tenant, await manifest('lists/unreadable.jsonl', ['a.jpg']));
    let reads = 0;
    const down: BlobStore = {
      ...h.s3.store,
      openRead: async () => {
        reads += 1;
        throw new TransientError(
          'storage_unavailable',
          'GET s3://x/y: storage unavailable: connection refused',
        );
      },
    };

    await h.expand({ store: down, maxFailures: 3, retryDelayMs: 20 });

    expect(reads).toBe(3);
    const job = await h.jobRow(tenant, jobId);
    expect(job).toMatchObject({ state: 'completed', total: 0, truncated_code: 'expansion_failed' });
    expect(job.truncated_message).toBe(
      'listing the input failed 3 times in a row; the last error: GET s3://x/y: storage unavailable: connection refused',
    );
  });
});

describe('one tenant with many catalog jobs', () => {
  it('does not hold the expander: the next claim serves the tenant served least recently, not the oldest job', async () => {
    const busy = await h.tenant({ grants: grants() });
    const other = await h.tenant({ grants: grants() });
    const input = { bucket, prefix: 'nothing/' };
    const busyJobs = [await h.job(busy, input), await h.job(busy, input), await h.job(busy, input)];
    const otherJob = await h.job(other, input);

    const first = await claimExpandingJob(h.db, 30_000, 10_000);
    expect(first?.jobId).toBe(busyJobs[0]); // neither tenant was served yet: the oldest job
    await releaseExpandingJob(h.db, first!); // its turn is over, the job still expanding
    const second = await claimExpandingJob(h.db, 30_000, 10_000);
    expect(second?.jobId).toBe(otherJob); // not the busy tenant's job again, though older
    const third = await claimExpandingJob(h.db, 30_000, 10_000);
    expect(third?.jobId).toBe(busyJobs[0]);
    await h.db.query(`UPDATE jobs SET state = 'completed' WHERE tenant_id = ANY($1)`, [[busy, other]]);
  });
});

describe('a manifest that trickles in', () => {
  it('keeps its lease while a page takes longer than the lease to read', async () => {
    const tenant = await h.tenant({ grants: grants() });
    const jobId = await h.job(tenant, await manifest('lists/slow.jsonl', ['a.jpg']));
    const slow: BlobStore = {
      ...h.s3.store,
      openRead: async () => ({
        eTag: 'slow',
        contentType: 'text/plain',
        metadata: {},
        size: undefined,
        body: Readable.from(
          (async function* () {
            for (let i = 0; i < 16; i++) {
              await sleep(50);
              yield Buffer.from(`slow/${i}.jpg\n`);
            }
          })(),
        ),
      }),
    };
    let listed = false;
    const expired: Date[] = [];
    const watch = (async () => {
      while (!listed) {
        const [row] = await h.db.query<{ lapsed: boolean; at: Date }>(
          `SELECT expansion_lease_until < now() AS lapsed, now() AS at FROM jobs
           WHERE tenant_id = $1 AND id = $2 AND state = 'expanding' AND expansion_lease_until IS NOT NULL`,
          [tenant, jobId],
        );
        if (row?.lapsed) expired.push(row.at);
        await sleep(25);
      }
    })();
    await h.expand({ store: slow, leaseMs: 300, pageSize: 1_000 });
    listed = true;
    await watch;
    expect(expired).toEqual([]);
    expect(await h.tasks(tenant, jobId)).toHaveLength(16);
  });
});

describe('a results manifest that takes longer to write than the lease lasts', () => {
  it('keeps the finaliser lease, so no other finaliser writes it again meanwhile', async () => {
    const tenant = await h.tenant({ grants: grants() });
    const jobId = await h.job(tenant, { bucket, prefix: 'nothing-at-all/' }, { bucket, prefix: 'slow-out/' });
    await h.expand(); // an empty listing: the job completes at once, to be finalised
    // Earlier tests' completed jobs are not this finaliser's business.
    await h.db.query(`UPDATE jobs SET finalized_at = now() WHERE finalized_at IS NULL AND id <> $1`, [jobId]);
    let writes = 0;
    const slow: BlobStore = {
      ...h.s3.store,
      putStream: async (...args) => {
        writes += 1;
        await sleep(1_000);
        return h.s3.store.putStream(...args);
      },
    };
    const finalised = new Promise<void>((resolve) => {
      const finalizer = createJobFinalizer({
        db: h.db,
        store: slow,
        log: silent,
        idleMs: 20,
        leaseMs: 300,
        onFinalized: () => {
          void finalizer.stop();
          resolve();
        },
      });
      finalizer.start();
    });
    const lapsed: Date[] = [];
    let done = false;
    const watch = (async () => {
      while (!done) {
        const [row] = await h.db.query<{ lapsed: boolean; at: Date }>(
          `SELECT finalize_lease_until < now() AS lapsed, now() AS at FROM jobs
           WHERE tenant_id = $1 AND id = $2 AND finalized_at IS NULL AND finalize_lease_until IS NOT NULL`,
          [tenant, jobId],
        );
        if (row?.lapsed) lapsed.push(row.at);
        await sleep(25);
      }
    })();
    await finalised;
    done = true;
    await watch;
    expect(lapsed).toEqual([]);
    expect(writes).toBe(1);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({
      manifest_key: `slow-out/_clearcut/${jobId}.results.jsonl`,
    });
  });
});
