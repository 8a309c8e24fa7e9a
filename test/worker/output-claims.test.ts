import { afterAll, beforeAll, expect, it } from 'vitest';
import { taskSchema } from '../../src/contracts/task.js';
import { outputClaims } from '../../src/worker/output-claims.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import { smallProductPng } from '../support/images.js';

// Two items of one job whose outputs land on one key (the default {key} template drops the source's
// extension): one writes it, the other fails with output_collision instead of overwriting it.

let p: PipelineHarness;
let input: string;
let output: string;

beforeAll(async () => {
  p = await createPipelineHarness('output claims');
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
  await p.startWorker();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
}, 300_000);

/** The images under `prefix`; not the job's results manifest (`_clearcut/`), which the finalizer
 * writes after the job ends, on its own time. */
const outputObjects = async (prefix: string) =>
  (await p.keys(output))
    .filter((key) => key.startsWith(prefix) && !key.startsWith(`${prefix}_clearcut/`))
    .sort();

it('writes a shared output key once and fails the other item with output_collision; the job finishes', async () => {
  for (const key of ['shoes/red.jpg', 'shoes/red.png', 'shoes/blue.png']) {
    await p.s3.store.put(input, key, await smallProductPng(1), { contentType: 'image/png' });
  }
  const key = await p.tenant(input, output);
  const jobId = await p.submit(key, {
    version: 1,
    input: { bucket: input, keys: ['shoes/red.jpg', 'shoes/red.png', 'shoes/blue.png'] },
    output: { bucket: output, prefix: 'o/' },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model: 'u2netp',
  });
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({
    state: 'completed',
    total: 3,
    succeeded: 2,
    failed: 1,
  });
  expect(await outputObjects('o/')).toEqual(['o/shoes/blue.cutout.png', 'o/shoes/red.cutout.png']);
  const rows = await p.tasks(key.tenantId, jobId);
  const red = rows.filter((row) => row.source_key.startsWith('shoes/red.'));
  const winner = red.find((row) => row.status === 'succeeded')!;
  const loser = red.find((row) => row.status === 'failed')!;
  expect(winner.outputs).toEqual([expect.objectContaining({ key: 'o/shoes/red.cutout.png' })]);
  expect(loser).toMatchObject({ error_code: 'output_collision', attempts: 1, outputs: null });
  expect(loser.error_message).toBe(
    `the output s3://${output}/o/shoes/red.cutout.png is written by another item of this job, the source s3://${input}/${winner.source_key}; rename one of the two sources, or give the job an output key template that keeps them apart`,
  );

  // A retry of the winner's task (a redelivery, a failed upload) finds its own claim and goes on;
  // the loser's finds the winner's again.
  const [winnerId, loserId] = await Promise.all(
    [winner, loser].map(async ({ item }) => {
      const [row] = await p.h.db.query<{ id: string }>(
        'SELECT id::text FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND item = $3',
        [key.tenantId, jobId, item],
      );
      return row!.id;
    }),
  );
  const claim = outputClaims(p.h.db);
  const task = (taskId: string, sourceKey: string) =>
    taskSchema.parse({
      version: 1,
      taskId,
      tenant: key.tenantId,
      jobId,
      item: 0,
      keyId: key.keyId,
      source: { bucket: input, key: sourceKey },
      output: { bucket: output, prefix: 'o/' },
      renditions: [{ kind: 'cutout' }],
      model: 'u2netp',
      attempt: 2,
      createdAt: new Date().toISOString(),
    });
  await expect(
    claim(task(winnerId!, winner.source_key), ['o/shoes/red.cutout.png']),
  ).resolves.toBeUndefined();
  await expect(claim(task(loserId!, loser.source_key), ['o/shoes/red.cutout.png'])).rejects.toMatchObject({
    code: 'output_collision',
  });
  const claims = await p.h.db.query<{ key: string; task_id: string }>(
    'SELECT key, task_id::text FROM output_claims WHERE tenant_id = $1 AND job_id = $2 ORDER BY key',
    [key.tenantId, jobId],
  );
  expect(claims).toEqual([
    { key: 'o/shoes/blue.cutout.png', task_id: expect.any(String) },
    { key: 'o/shoes/red.cutout.png', task_id: winnerId },
  ]);
}, 300_000);

it('lets the task holding the claim write again on its retry (its upload failed once)', async () => {
  const key = await p.tenant(input, output);
  // The first PUT of the shared key fails (503, a retry): only the holder of the claim uploads it.
  p.flaky.failNext('PUT', `${output}/r/shoes/red.cutout.png`, 1);
  const before = p.flaky.failed();
  const jobId = await p.submit(key, {
    version: 1,
    input: { bucket: input, keys: ['shoes/red.jpg', 'shoes/red.png'] },
    output: { bucket: output, prefix: 'r/' },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model: 'u2netp',
  });
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 1, failed: 1 });
  expect(p.flaky.failed() - before).toBe(1);
  const rows = await p.tasks(key.tenantId, jobId);
  expect(rows.map(({ status, attempts, error_code }) => ({ status, attempts, error_code }))).toEqual(
    expect.arrayContaining([
      { status: 'succeeded', attempts: 2, error_code: null },
      { status: 'failed', attempts: 1, error_code: 'output_collision' },
    ]),
  );
  expect(await outputObjects('r/')).toEqual(['r/shoes/red.cutout.png']);
}, 300_000);
