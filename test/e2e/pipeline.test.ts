import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Worker } from '../../src/worker/worker.js';
import { runCli } from '../support/cli.js';
import { noisyJpeg, smallProductPng as smallImage, truncated } from '../support/images.js';
import { untilValue } from '../support/until.js';
import { createPipelineHarness, type PipelineHarness } from './pipeline-harness.js';

// The whole pipeline: signed job → gateway → tasks → worker → outputs in S3 + task rows + events.

let p: PipelineHarness;
let worker: Worker;
let input: string;
let output: string;

async function upload(bucket: string, key: string, body: Buffer, contentType = 'image/png') {
  await p.s3.store.put(bucket, key, body, { contentType });
}

function job(keys: string[], renditions: unknown[] = [{ kind: 'cutout', format: 'png' }], out = output) {
  return {
    version: 1,
    input: { bucket: input, keys },
    output: { bucket: out, prefix: 'cut/' },
    renditions,
    model: 'u2netp',
  };
}

beforeAll(async () => {
  p = await createPipelineHarness('pipeline', { CLEARCUT_MAX_INPUT_BYTES: '100KiB' });
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
}, 120_000);
afterAll(async () => {
  await p?.dispose();
});

it('writes nothing when the write grant is revoked between admission and work', async () => {
  // Runs before any worker starts, so the revocation lands while the task waits in the queue:
  // the worker's own re-check is what is tested (the gateway checked at admission).
  await upload(input, 'nogrant/a.png', await smallImage(2));
  const denied = await p.s3.createBucket('denied');
  const key = await p.tenant(input, denied);
  const jobId = await p.submit(key, job(['nogrant/a.png'], undefined, denied));
  await untilValue(
    async () => {
      const [row] = await p.h.db.query<{ published: boolean }>(
        'SELECT published_at IS NOT NULL AS published FROM tasks WHERE tenant_id = $1 AND job_id = $2',
        [key.tenantId, jobId],
      );
      return row?.published;
    },
    { what: 'the task to be published', timeoutMs: 60_000 },
  );
  await p.h.db.query("DELETE FROM bucket_grants WHERE tenant_id = $1 AND access = 'write'", [key.tenantId]);
  worker = await p.startWorker();
  await p.waitForJob(key.tenantId, jobId);
  const [row] = await p.tasks(key.tenantId, jobId);
  expect(row).toMatchObject({ status: 'failed', error_code: 'access_denied', attempts: 1 });
  expect(row!.error_message).toMatch(
    /no write grant on s3:\/\/t-denied-[0-9a-f]+\/cut\/nogrant\/a\.cutout\.png/,
  );
  expect((await p.keys(denied)).filter((k) => !k.includes('_clearcut/'))).toEqual([]);
}, 200_000);

it('turns a 50-image catalog job into exactly one set of renditions per image', async () => {
  const keys = Array.from({ length: 50 }, (_, i) => `catalog/shoe-${i}.png`);
  await Promise.all(keys.map(async (key, i) => upload(input, key, await smallImage(i))));
  const key = await p.tenant(input, output);
  const jobId = await p.submit(
    key,
    job(keys, [
      { kind: 'cutout', format: 'png' },
      { kind: 'mask', format: 'png' },
    ]),
  );
  const done = await p.waitForJob(key.tenantId, jobId);
  expect(done).toEqual({ state: 'completed', total: 50, succeeded: 50, failed: 0 });
  const expected = keys.flatMap((k) => {
    const stem = k.replace(/\.png$/, '');
    return [`cut/${stem}.cutout.png`, `cut/${stem}.mask.png`];
  });
  const manifestKey = `cut/_clearcut/${jobId}.results.jsonl`;
  const written = await p.keys(output);
  expect(written.filter((k) => !k.startsWith('cut/_clearcut/')).sort()).toEqual(expected.sort());
  // The results manifest is the gateway's finaliser's (engineer I); it lists every item once.
  await untilValue(async () => (await p.s3.store.head(output, manifestKey)) !== undefined, {
    what: 'the results manifest',
    timeoutMs: 60_000,
  });
  const manifest = (await p.s3.store.get(output, manifestKey, { maxBytes: 1e7 })).body.toString('utf8');
  const lines = manifest
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { item: number; status: string; outputs: unknown[] });
  expect(lines.map((line) => [line.item, line.status, line.outputs.length])).toEqual(
    keys.map((_, item) => [item, 'succeeded', 2]),
  );
  const rows = await p.tasks(key.tenantId, jobId);
  expect(rows.every((row) => row.status === 'succeeded' && row.outputs?.length === 2)).toBe(true);
  const head = await p.s3.store.head(output, 'cut/catalog/shoe-7.cutout.png');
  const source = await p.s3.store.head(input, 'catalog/shoe-7.png');
  expect(head?.metadata).toMatchObject({ 'source-etag': source?.eTag, model: 'u2netp' });
  expect(head?.metadata['model-sha256']).toMatch(/^[0-9a-f]{64}$/);
  const cutout = await sharp(
    (await p.s3.store.get(output, 'cut/catalog/shoe-7.cutout.png', { maxBytes: 1e7 })).body,
  ).metadata();
  expect(cutout).toMatchObject({ width: 112, height: 112, channels: 4 });
}, 400_000);

it('fails corrupt, non-image, oversized and missing items precisely and finishes the good ones', async () => {
  await upload(input, 'mixed/good.png', await smallImage(1));
  await upload(input, 'mixed/corrupt.jpg', truncated(await noisyJpeg(200, 200), 0.5), 'image/jpeg');
  await upload(input, 'mixed/notes.png', Buffer.from('just some text, not an image at all\n'.repeat(10)));
  await upload(input, 'mixed/huge.jpg', await noisyJpeg(600, 600), 'image/jpeg'); // > 100 KiB
  const key = await p.tenant(input, output);
  const keys = [
    'mixed/good.png',
    'mixed/corrupt.jpg',
    'mixed/notes.png',
    'mixed/huge.jpg',
    'mixed/absent.png',
  ];
  const jobId = await p.submit(key, job(keys));
  expect(await p.waitForJob(key.tenantId, jobId)).toEqual({
    state: 'completed',
    total: 5,
    succeeded: 1,
    failed: 4,
  });
  const rows = await p.tasks(key.tenantId, jobId);
  expect(rows.map((row) => [row.source_key, row.status, row.error_code])).toEqual([
    ['mixed/good.png', 'succeeded', null],
    ['mixed/corrupt.jpg', 'failed', 'corrupt_image'],
    ['mixed/notes.png', 'failed', 'unsupported_format'],
    ['mixed/huge.jpg', 'failed', 'too_large'],
    ['mixed/absent.png', 'failed', 'not_found'],
  ]);
  expect(rows[1]!.error_message).toMatch(/damaged or incomplete/);
  expect(rows[3]!.error_message).toMatch(/the limit is 102400 bytes/);
  expect(rows.every((row) => row.attempts === 1)).toBe(true); // permanent: no retries
  expect((await p.keys(output)).filter((k) => k.startsWith('cut/mixed/'))).toEqual([
    'cut/mixed/good.cutout.png',
  ]);
}, 200_000);

it('retries a transient S3 failure with backoff and then succeeds', async () => {
  await upload(input, 'flaky/a.png', await smallImage(3));
  const key = await p.tenant(input, output);
  p.flaky.failNext('GET', `${input}/flaky/a.png`, 2);
  const before = p.flaky.failed();
  const jobId = await p.submit(key, job(['flaky/a.png']));
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 1, failed: 0 });
  expect(p.flaky.failed() - before).toBe(2);
  const [row] = await p.tasks(key.tenantId, jobId);
  expect(row).toMatchObject({ status: 'succeeded', attempts: 3 });
  expect(await p.keys(output)).toContain('cut/flaky/a.cutout.png');
}, 200_000);

it('sends a task that keeps failing to the dead-letter queue, and `dlq replay` runs it', async () => {
  await upload(input, 'poison/a.png', await smallImage(4));
  const key = await p.tenant(input, output);
  p.flaky.failAlways(`${input}/poison/a.png`);
  const jobId = await p.submit(key, job(['poison/a.png']));
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 0, failed: 1 });
  const [failed] = await p.tasks(key.tenantId, jobId);
  expect(failed).toMatchObject({ status: 'failed', error_code: 'storage_unavailable', attempts: 3 });
  expect(failed!.error_message).toMatch(/^gave up after 3 attempts: GET s3:\/\//);

  const listed = await runCli(p.env, 'dlq', 'list', '--json');
  expect(listed.status).toBe(0);
  const entries = JSON.parse(listed.out) as { jobId: string; attempts: number; error: { code: string } }[];
  expect(entries.filter((e) => e.jobId === jobId)).toMatchObject([
    { attempts: 3, error: { code: 'storage_unavailable' } },
  ]);
  // Listing does not consume.
  expect(JSON.parse((await runCli(p.env, 'dlq', 'list', '--json')).out)).toHaveLength(entries.length);

  p.flaky.heal(`${input}/poison/a.png`);
  const replayed = await runCli(p.env, 'dlq', 'replay', '--job', jobId);
  expect(replayed).toMatchObject({ status: 0, out: 'Replayed 1 task(s).' });
  await untilValue(
    async () => {
      const [row] = await p.tasks(key.tenantId, jobId);
      return row?.status === 'succeeded';
    },
    { what: 'the replayed task to succeed', timeoutMs: 60_000 },
  );
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 1, failed: 0 });
  expect(JSON.parse((await runCli(p.env, 'dlq', 'list', '--json')).out)).toHaveLength(entries.length - 1);
}, 200_000);

it('refuses bad dlq usage with a precise message', async () => {
  const both = await runCli(p.env, 'dlq', 'replay', '--all', '--job', 'x');
  expect(both.status).toBe(2);
  expect(both.err).toMatch(/exactly one of --all, --job JOB or task ids/);
  const badId = await runCli(p.env, 'dlq', 'replay', 'not a task');
  expect(badId.err).toMatch(/"not a task" is not a task id/);
  const noQueue = await runCli({ ...p.env, CLEARCUT_AMQP_PREFIX: 'no_such_prefix' }, 'dlq', 'list');
  expect(noQueue.status).toBe(1);
  expect(noQueue.err).toMatch(/no_such_prefix\.tasks\.dead does not exist yet: start a worker once/);
});

it('refuses to start a worker asked to serve a model that does not exist', async () => {
  await expect(p.startWorker({ CLEARCUT_MODELS: 'u2netp,u2net-nano' })).rejects.toThrow(
    /CLEARCUT_MODELS="u2netp,u2net-nano" is invalid: expected comma-separated distinct names among u2net, /,
  );
});

it('shares one queue between two workers, and both do work', async () => {
  const second = await p.startWorker();
  const keys = Array.from({ length: 10 }, (_, i) => `shared/${i}.png`);
  await Promise.all(keys.map(async (k, i) => upload(input, k, await smallImage(i))));
  const key = await p.tenant(input, output);
  const jobId = await p.submit(key, job(keys));
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 10, failed: 0 });
  const succeeded = async (w: Worker) => {
    const text = await (await fetch(`http://127.0.0.1:${w.httpPort}/metrics`)).text();
    return Number(/clearcut_worker_tasks_total\{result="succeeded"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  expect(await succeeded(second)).toBeGreaterThan(0);
  expect(await succeeded(worker)).toBeGreaterThan(0);
  const health = await fetch(`http://127.0.0.1:${second.httpPort}/readyz`);
  expect(health.status).toBe(200);
}, 200_000);
