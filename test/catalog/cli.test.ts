import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeJob } from '../../src/jobs/job-finalizer.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import { releaseTasks } from '../../src/jobs/task-queue.js';
import { runCli } from '../support/cli.js';
import { type CatalogHarness, createCatalogHarness, silent } from './support.js';

let h: CatalogHarness;
let bucket: string;

beforeAll(async () => {
  h = await createCatalogHarness('catalog cli');
  bucket = await h.s3.createBucket('status');
}, 60_000);
afterAll(async () => h?.dispose());

const cli = (...argv: string[]) => runCli(h.environment.env, ...argv);

/** A job of `keys` as admission makes it, with the first `end` items ended (items named bad-* fail). */
async function jobWith(tenant: string, keys: string[], end: number, jobId?: string) {
  const id = await h.job(tenant, { bucket, keys }, { bucket, prefix: 'out/' });
  if (jobId)
    await h.db.query('UPDATE jobs SET id = $3 WHERE tenant_id = $1 AND id = $2', [tenant, id, jobId]);
  const job = jobId ?? id;
  await h.db.query(
    `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank)
     SELECT $1, $2, i - 1, $3, k, 1 FROM unnest($4::text[]) WITH ORDINALITY AS t(k, i)`,
    [tenant, job, bucket, keys],
  );
  await h.db.query(`INSERT INTO tenant_dispatch (tenant_id, pending, max_in_flight) VALUES ($1, $2, 1000)`, [
    tenant,
    keys.length,
  ]);
  await releaseTasks(h.db, { quantum: 1000, maxTenants: 100, leaseMs: 30_000 });
  const tasks = await h.db.query<{ id: string; key: string }>(
    `SELECT id::text, source_key AS key FROM tasks WHERE tenant_id = $1 AND job_id = $2 ORDER BY item LIMIT $3`,
    [tenant, job, end],
  );
  for (const task of tasks) {
    await h.db.transaction((tx) =>
      completeTask(
        tx,
        { taskId: task.id, attempt: 1 },
        task.key.startsWith('bad-')
          ? { status: 'failed', error: { code: 'corrupt_image', message: 'the JPEG data ends early' } }
          : {
              status: 'succeeded',
              outputs: [
                {
                  rendition: 'cutout',
                  bucket,
                  key: `out/${task.key}.png`,
                  contentType: 'image/png',
                  bytes: 1,
                  width: 1,
                  height: 1,
                },
              ],
            },
      ),
    );
  }
  return job;
}

describe('clearcut status', () => {
  it('shows a progress bar and the counts of a running job', async () => {
    const tenant = await h.tenant();
    const jobId = await jobWith(tenant, ['a.jpg', 'bad-b.jpg', 'c.jpg', 'd.jpg'], 2);
    const run = await cli('status', jobId);
    expect(run.status).toBe(0);
    expect(run.out).toBe(
      [
        `job ${jobId} (tenant ${tenant}): running`,
        '  [############------------]  50%  2/4',
        '  total 4  succeeded 1  failed 1  pending 2  skipped 0',
      ].join('\n'),
    );
    const json = JSON.parse((await cli('status', jobId, '--json', '--tenant', tenant)).out);
    expect(json).toMatchObject({
      tenantId: tenant,
      total: 4,
      succeeded: 1,
      failed: 1,
      pending: 2,
      finalized: false,
    });
  });

  it('says when the total is not known yet, and --watch follows the job until it is finished', async () => {
    const tenant = await h.tenant();
    const jobId = await h.job(tenant, { bucket, prefix: 'nothing/' }, { bucket, prefix: 'out/' });
    expect((await cli('status', jobId)).out).toContain('listing its input');
    expect((await cli('status', jobId)).out).toContain('(total not known yet)');

    const watching = cli('status', jobId, '--watch', '--interval', '100ms');
    await h.expand(); // empty prefix: the job completes with no items
    await finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId });
    const run = await watching;
    expect(run.status).toBe(0);
    expect(run.out).toContain(`job ${jobId} (tenant ${tenant}): finished`);
    expect(run.out).toContain(`results: s3://${bucket}/out/_clearcut/${jobId}.results.jsonl`);
  });

  it('refuses bad usage and reports unknown or ambiguous jobs', async () => {
    expect((await cli('status')).status).toBe(2);
    expect((await cli('status', 'bad id!')).err).toContain('is not a job id');
    expect((await cli('status', 'j1', '--interval', '1s')).err).toContain('--interval needs --watch');
    expect((await cli('status', 'j1', '--watch', '--interval', 'soon')).err).toContain('must be a duration');
    const missing = await cli('status', 'no-such-job');
    expect(missing).toMatchObject({ status: 1, err: 'clearcut status: no job "no-such-job"' });
    const [t1, t2] = [await h.tenant(), await h.tenant()];
    await jobWith(t1, ['x.jpg'], 0, 'shared-id');
    await jobWith(t2, ['x.jpg'], 0, 'shared-id');
    const ambiguous = await cli('status', 'shared-id');
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.err).toContain('add --tenant');
    expect((await cli('status', 'shared-id', '--tenant', t2)).out).toContain(`tenant ${t2}`);
  });
});

describe('clearcut results', () => {
  it('prints the manifest location and the failures of a finished job', async () => {
    const tenant = await h.tenant();
    const jobId = await jobWith(tenant, ['a.jpg', 'bad-b.jpg', 'bad-c.jpg'], 3);
    const early = await cli('results', jobId);
    expect(early.status).toBe(4);
    expect(early.out).toContain('is not finished');

    await finalizeJob({ db: h.db, store: h.s3.store, log: silent }, { tenantId: tenant, jobId });
    const run = await cli('results', jobId, '--limit', '1');
    expect(run.status).toBe(5);
    expect(run.out).toBe(
      [
        `results manifest: s3://${bucket}/out/_clearcut/${jobId}.results.jsonl`,
        'total 3  succeeded 1  failed 2  pending 0  skipped 0',
        'failed items (2):',
        `  #1 s3://${bucket}/bad-b.jpg  corrupt_image: the JPEG data ends early`,
        '  … and 1 more (see the manifest)',
      ].join('\n'),
    );
    expect((await cli('results', jobId, '--limit', 'many')).err).toContain('must be a whole number');
  });
});
