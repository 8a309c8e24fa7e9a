import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { TransientError } from '../../src/errors.js';
import { createJobFinalizer, finalizeJob } from '../../src/jobs/job-finalizer.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import { releaseTasks } from '../../src/jobs/task-queue.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { type CatalogHarness, createCatalogHarness, silent } from './support.js';

let h: CatalogHarness;
let bucket: string;
let outputs: string;

beforeAll(async () => {
  h = await createCatalogHarness('catalog finalizer');
  bucket = await h.s3.createBucket('sources');
  outputs = await h.s3.createBucket('outputs');
}, 60_000);
afterAll(async () => h?.dispose());

const outputOf = (key: string) => [
  {
    rendition: 'cutout' as const,
    bucket: outputs,
    key: `cut/${key}.cutout.png`,
    contentType: 'image/png',
    bytes: 10,
    width: 4,
    height: 4,
  },
];

/** Releases the job's tasks and ends each: items whose key contains "bad" fail. */
async function runTasks(db: Database, tenantId: string, jobId: string) {
  await releaseTasks(db, { quantum: 10_000, maxTenants: 100, leaseMs: 30_000 });
  const tasks = await db.query<{ id: string; key: string }>(
    `SELECT id::text, source_key AS key FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND status = 'queued' ORDER BY item`,
    [tenantId, jobId],
  );
  for (const task of tasks) {
    await db.transaction((tx) =>
      completeTask(
        tx,
        { taskId: task.id, attempt: 1 },
        task.key.includes('bad')
          ? { status: 'failed', error: { code: 'unsupported_format', message: 'not an image' } }
          : { status: 'succeeded', outputs: outputOf(task.key) },
      ),
    );
  }
}

/** A store that counts manifest writes and can fail the next ones. */
function countingStore(store: BlobStore, failures: Error[] = []) {
  const puts: string[] = [];
  const counting: BlobStore = {
    ...store,
    async putStream(b, key, body, options) {
      const failure = failures.shift();
      if (failure) throw failure;
      puts.push(key);
      return store.putStream(b, key, body, options);
    },
  };
  return { store: counting, puts };
}

async function completedEvents(jobId: string) {
  return h.db.query<{ body: string }>(
    `SELECT body FROM outbox WHERE routing_key LIKE '%.' || $1 || '.job.completed'`,
    [jobId],
  );
}

async function manifestLines(key: string) {
  const { body } = await h.s3.store.get(outputs, key, { maxBytes: 1 << 20 });
  return body
    .toString('utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('job finalisation', () => {
  it('writes the results manifest once and queues job.completed once when two finalisers race', async () => {
    const tenant = await h.tenant();
    const jobId = await h.job(
      tenant,
      { bucket, keys: ['a.jpg', 'bad.jpg', 'c.jpg'] },
      { bucket: outputs, prefix: 'cut/' },
    );
    await h.db.query(
      `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank)
       SELECT $1, $2, i - 1, $3, k, 1 FROM unnest($4::text[]) WITH ORDINALITY AS t(k, i)`,
      [tenant, jobId, bucket, ['a.jpg', 'bad.jpg', 'c.jpg']],
    );
    await h.db.query(`INSERT INTO tenant_dispatch (tenant_id, pending, max_in_flight) VALUES ($1, 3, 100)`, [
      tenant,
    ]);
    await runTasks(h.db, tenant, jobId);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'completed', finalized_at: null });

    const counted = countingStore(h.s3.store);
    const options = { db: h.db, store: counted.store, log: silent };
    const outcomes = await Promise.all([
      finalizeJob(options, { tenantId: tenant, jobId }),
      finalizeJob(options, { tenantId: tenant, jobId }),
    ]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);

    const events = (await completedEvents(jobId)).map((row) => JSON.parse(row.body));
    const manifestKey = `cut/_clearcut/${jobId}.results.jsonl`;
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'job.completed',
        total: 3,
        succeeded: 2,
        failed: 1,
        manifest: { bucket: outputs, key: manifestKey },
      }),
    ]);
    expect(await manifestLines(manifestKey)).toEqual([
      {
        item: 0,
        source: { bucket, key: 'a.jpg' },
        status: 'succeeded',
        outputs: outputOf('a.jpg'),
        error: null,
      },
      {
        item: 1,
        source: { bucket, key: 'bad.jpg' },
        status: 'failed',
        outputs: [],
        error: { code: 'unsupported_format', message: 'not an image' },
      },
      {
        item: 2,
        source: { bucket, key: 'c.jpg' },
        status: 'succeeded',
        outputs: outputOf('c.jpg'),
        error: null,
      },
    ]);
    // Finalised: nothing more to do for anyone.
    expect(await finalizeJob(options, { tenantId: tenant, jobId })).toBe(false);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({
      manifest_bucket: outputs,
      manifest_key: manifestKey,
    });
  });

  it('a catalog job whose items all ended before its listing did completes at the last page, and its manifest lists skipped lines', async () => {
    await h.s3.store.put(bucket, 'lists/m.jsonl', Buffer.from('one.jpg\n{"key": 1}\ntwo.jpg\n'), {
      contentType: 'text/plain',
    });
    const tenant = await h.tenant({ grants: [{ bucket, prefix: '', access: 'read' }] });
    const jobId = await h.job(
      tenant,
      { manifest: { bucket, key: 'lists/m.jsonl' } },
      { bucket: outputs, prefix: 'cut/' },
    );
    // Page 1 holds one.jpg; its task ends while the job is still listing.
    await h.expand({ pageSize: 1, until: (pages) => pages.length >= 1 });
    await runTasks(h.db, tenant, jobId);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'expanding', succeeded: 1 });
    await h.expand({ pageSize: 1, until: (pages) => pages.length >= 1 }); // the bad line
    await h.expand({ pageSize: 1, until: (pages) => pages.length >= 1 }); // two.jpg
    await runTasks(h.db, tenant, jobId);
    await h.expand({ pageSize: 1 }); // the end: total known, every item already ended
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'completed', total: 2, skipped: 1 });

    await finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId });
    const lines = await manifestLines(`cut/_clearcut/${jobId}.results.jsonl`);
    expect(lines.map((l) => l.status)).toEqual(['succeeded', 'succeeded', 'skipped']);
    expect(lines[2]).toMatchObject({ position: 2, entry: '{"key": 1}', error: { code: 'invalid_line' } });
  });

  it('a crash before the manifest is written leaves the job to the next finaliser; the loops write each manifest once', async () => {
    const tenant = await h.tenant();
    const jobs = [];
    for (let n = 0; n < 3; n++) {
      const jobId = await h.job(
        tenant,
        { bucket, key: `crash-${n}.jpg` },
        { bucket: outputs, prefix: 'cut/' },
      );
      await h.db.query(
        `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank) VALUES ($1, $2, 0, $3, $4, 1)`,
        [tenant, jobId, bucket, `crash-${n}.jpg`],
      );
      jobs.push(jobId);
    }
    await h.db.query(
      `INSERT INTO tenant_dispatch (tenant_id, pending, max_in_flight) VALUES ($1, 3, 100)
       ON CONFLICT (tenant_id) DO UPDATE SET pending = tenant_dispatch.pending + 3`,
      [tenant],
    );
    for (const jobId of jobs) await runTasks(h.db, tenant, jobId);

    const broken = countingStore(h.s3.store, [new TransientError('storage_unavailable', 'S3 is down')]);
    await expect(
      finalizeJob({ db: h.db, store: broken.store, log: silent }, { tenantId: tenant, jobId: jobs[0]! }),
    ).rejects.toThrow('S3 is down');
    expect(await completedEvents(jobs[0]!)).toEqual([]);
    expect(await h.jobRow(tenant, jobs[0]!)).toMatchObject({ state: 'completed', finalized_at: null });

    const counted = countingStore(h.s3.store);
    const loops = [1, 2].map(() =>
      createJobFinalizer({ db: h.db, store: counted.store, log: silent, idleMs: 10, leaseMs: 30_000 }),
    );
    for (const loop of loops) loop.start();
    for (;;) {
      const [left] = await h.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1 AND finalized_at IS NULL`,
        [tenant],
      );
      if (left!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await Promise.all(loops.map((loop) => loop.stop()));
    expect(counted.puts.sort()).toEqual(jobs.map((jobId) => `cut/_clearcut/${jobId}.results.jsonl`).sort());
    for (const jobId of jobs) expect(await completedEvents(jobId)).toHaveLength(1);
  });

  it('streams a manifest larger than one part as a multipart upload, every item once and in order', async () => {
    const tenant = await h.tenant();
    const items = 30_000; // ~7 MiB of manifest: two 5 MiB parts
    const jobId = await h.job(tenant, { bucket, prefix: 'many/' }, { bucket: outputs, prefix: 'many-out/' });
    await h.db.query(
      `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank, status, outputs)
       SELECT $1, $2, g, $3, 'many/' || g || '.jpg', 1, 'succeeded', $4::jsonb FROM generate_series(0, $5::int - 1) g`,
      [tenant, jobId, bucket, JSON.stringify(outputOf('many')), items],
    );
    await h.db.query(
      `UPDATE jobs SET state = 'completed', total = $3, succeeded = $3, completed_at = now() WHERE tenant_id = $1 AND id = $2`,
      [tenant, jobId, items],
    );
    const uploads: { parts: number }[] = [];
    const store: BlobStore = {
      ...h.s3.store,
      putStream: async (...args) => {
        const written = await h.s3.store.putStream(...args);
        uploads.push(written);
        return written;
      },
    };

    expect(await finalizeJob({ db: h.db, store, log: silent }, { tenantId: tenant, jobId })).toBe(true);

    expect(uploads).toEqual([expect.objectContaining({ parts: 2 })]);
    const { body } = await h.s3.store.get(outputs, `many-out/_clearcut/${jobId}.results.jsonl`, {
      maxBytes: 64 << 20,
    });
    expect(body.length).toBeGreaterThan(5 << 20);
    const lines = body.toString('utf8').trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).item)).toEqual(Array.from({ length: items }, (_, i) => i));
  }, 60_000);

  it('an output bucket that refuses the manifest still completes the job, without a manifest', async () => {
    const tenant = await h.tenant();
    const jobId = await h.job(
      tenant,
      { bucket, keys: ['x.jpg', 'y.jpg'] },
      { bucket: 'no-such-bucket-here', prefix: 'cut/' },
    );
    await h.db.query(
      `UPDATE jobs SET state = 'completed', completed_at = now() WHERE tenant_id = $1 AND id = $2`,
      [tenant, jobId],
    );
    expect(await finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId })).toBe(
      true,
    );
    const [event] = (await completedEvents(jobId)).map((row) => JSON.parse(row.body));
    expect(event).toMatchObject({ kind: 'job.completed', manifest: null });
    expect((await h.jobRow(tenant, jobId)).manifest_error).toMatch(/^not_found|^no_such_bucket|bucket/);
  });

  it('writes no manifest from task outputs that no longer match their contract, naming the row', async () => {
    const tenant = await h.tenant();
    const jobId = await h.job(
      tenant,
      { bucket, keys: ['p.jpg', 'q.jpg'] },
      { bucket: outputs, prefix: 'cut/' },
    );
    await h.db.query(
      `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank)
       SELECT $1, $2, i - 1, $3, k, 1 FROM unnest($4::text[]) WITH ORDINALITY AS t(k, i)`,
      [tenant, jobId, bucket, ['p.jpg', 'q.jpg']],
    );
    await h.db.query(`INSERT INTO tenant_dispatch (tenant_id, pending, max_in_flight) VALUES ($1, 2, 100)`, [
      tenant,
    ]);
    await runTasks(h.db, tenant, jobId);
    await h.db.query(
      `UPDATE tasks SET outputs = '[{"rendition": "cutout", "bucket": 7}]' WHERE tenant_id = $1 AND job_id = $2 AND item = 1`,
      [tenant, jobId],
    );
    await h.db.query(
      `UPDATE jobs SET state = 'completed', completed_at = now() WHERE tenant_id = $1 AND id = $2`,
      [tenant, jobId],
    );
    // A row changed by hand is an operator's problem: the finaliser stops, naming it, and writes nothing.
    await expect(
      finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId }),
    ).rejects.toThrow(`tasks.outputs of item 1 of job ${tenant}/${jobId} does not match its contract`);
    const written = [];
    for await (const blob of h.s3.store.list(outputs, `cut/_clearcut/${jobId}`)) written.push(blob);
    expect(written).toEqual([]);
  });
});
