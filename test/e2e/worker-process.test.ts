import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { untilValue } from '../support/until.js';
import { createPipelineHarness, type PipelineHarness } from './pipeline-harness.js';

// Worker processes that are killed (SIGKILL, repeatedly, mid-job) or drained (SIGTERM): nothing
// lost, nothing duplicated, whatever the moment.

let p: PipelineHarness;
let input: string;
let output: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  p = await createPipelineHarness('workerproc');
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
}, 120_000);
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await p?.dispose();
});

async function startWorkerProcess(overrides: Record<string, string> = {}): Promise<ServiceProcess> {
  const env = { ...p.env, CLEARCUT_WORKER_DRAIN_TIMEOUT: '2m', ...overrides };
  const worker = await startServiceProcess(['workers/inference.ts'], env, 'worker started');
  children.add(worker.child);
  return worker;
}

async function catalogJob(prefix: string, count: number) {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}/${i}.png`);
  await Promise.all(
    keys.map(async (key, i) => {
      const image = await sharp({
        create: { width: 96, height: 96, channels: 3, background: { r: (i * 37) % 256, g: 90, b: 40 } },
      })
        .png()
        .toBuffer();
      await p.s3.store.put(input, key, image, { contentType: 'image/png' });
    }),
  );
  const key = await p.tenant(input, output);
  const jobId = await p.submit(key, {
    version: 1,
    input: { bucket: input, keys },
    output: { bucket: output, prefix: 'out/' },
    renditions: [{ kind: 'cutout', format: 'webp' }],
    model: 'u2netp',
  });
  return { keys, tenant: key.tenantId, jobId };
}

const succeededSoFar = async (tenant: string, jobId: string) =>
  (
    await p.h.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND status = 'succeeded'`,
      [tenant, jobId],
    )
  )[0]!.n;

async function expectExactlyOnce(keys: string[], tenant: string, jobId: string, prefix: string) {
  expect(await p.waitForJob(tenant, jobId)).toMatchObject({ succeeded: keys.length, failed: 0 });
  const expected = keys.map((k) => `out/${k.replace(/\.png$/, '')}.cutout.webp`).sort();
  expect((await p.keys(output)).filter((k) => k.startsWith(`out/${prefix}/`)).sort()).toEqual(expected);
  await p.h.results.waitFor(
    (messages) =>
      messages.filter(
        (m) => (m.json() as ResultEvent).kind === 'item.succeeded' && m.routingKey.includes(jobId),
      ).length >= keys.length,
  );
  const events = p.h.results.messages
    .map((m) => m.json() as ResultEvent)
    .filter(
      (e): e is Extract<ResultEvent, { kind: 'item.succeeded' }> =>
        e.kind === 'item.succeeded' && e.jobId === jobId,
    );
  // One success per item: a re-run after a kill found the row ended or overwrote the same keys.
  expect(events.map((e) => e.item).sort((a, b) => a - b)).toEqual(keys.map((_, i) => i));
}

it('loses and duplicates nothing when workers are SIGKILLed mid-task, again and again', async () => {
  const { keys, tenant, jobId } = await catalogJob('kill', 24);
  for (let round = 0; round < 3; round++) {
    const { child: worker } = await startWorkerProcess();
    const before = await succeededSoFar(tenant, jobId);
    // Killed right after a task ended: its neighbours (prefetch 2) are mid-flight.
    await untilValue(async () => (await succeededSoFar(tenant, jobId)) > before, {
      what: 'progress',
      timeoutMs: 90_000,
    });
    worker.kill('SIGKILL');
    await once(worker, 'exit');
  }
  expect(await succeededSoFar(tenant, jobId)).toBeLessThan(keys.length);
  const { child: last } = await startWorkerProcess();
  await expectExactlyOnce(keys, tenant, jobId, 'kill');
  last.kill('SIGTERM');
  await once(last, 'exit');
}, 300_000);

it('drains on SIGTERM: finishes what it holds, exits 0, and the rest is done by the next worker', async () => {
  const { keys, tenant, jobId } = await catalogJob('term', 8);
  const { child: worker } = await startWorkerProcess();
  let log = '';
  worker.stdout!.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  await untilValue(async () => (await succeededSoFar(tenant, jobId)) > 0, {
    what: 'progress',
    timeoutMs: 90_000,
  });
  worker.kill('SIGTERM');
  const [code] = await once(worker, 'exit');
  expect(code).toBe(0);
  expect(log).toContain('worker stopped');
  expect(log).not.toContain('drain timed out');
  const { child: next } = await startWorkerProcess();
  await expectExactlyOnce(keys, tenant, jobId, 'term');
  next.kill('SIGTERM');
  await once(next, 'exit');
}, 300_000);

it('hands unfinished tasks back when the drain times out, and they still end exactly once', async () => {
  const { keys, tenant, jobId } = await catalogJob('cut', 6);
  const worker = await startWorkerProcess({ CLEARCUT_WORKER_DRAIN_TIMEOUT: '0ms' });
  // Stopped while it holds tasks (its model is preloaded, so they run at once).
  const { httpPort } = worker.logLine('worker started') as { httpPort: number };
  const holding = async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return Number(/clearcut_worker_tasks_in_flight\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0) > 0;
  };
  await untilValue(holding, { what: 'the worker to hold tasks', timeoutMs: 90_000 });
  worker.child.kill('SIGTERM');
  const [code] = await once(worker.child, 'exit');
  expect(code).toBe(0);
  expect(worker.output()).toContain('drain timed out');
  const { child: next } = await startWorkerProcess();
  await expectExactlyOnce(keys, tenant, jobId, 'cut');
  const rows = await p.tasks(tenant, jobId);
  expect(rows.every((row) => row.attempts === 1)).toBe(true); // a shutdown is not a failed attempt
  next.kill('SIGTERM');
  await once(next, 'exit');
}, 300_000);
