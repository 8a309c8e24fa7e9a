import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { Worker } from '../../src/worker/worker.js';
import { type HoldingProxy, startHoldingProxy } from '../support/tcp-proxy.js';
import { untilValue } from '../support/until.js';
import { runInterruptedJob } from './interrupted-job.js';
import { createPipelineHarness, type PipelineHarness } from './pipeline-harness.js';

// The gateway and the worker reach RabbitMQ through a proxy that cuts their connections and, for
// a while, refuses new ones, as a broker restart or a network failure would; the test's own
// broker connection (publishing jobs, collecting result events) goes direct and is unaffected.

let proxy: HoldingProxy;
let p: PipelineHarness;
let gateway: Gateway;
let worker: Worker;

beforeAll(async () => {
  proxy = await startHoldingProxy({ host: '127.0.0.1', port: 5672 });
  p = await createPipelineHarness('broker loss', {
    CLEARCUT_AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
    CLEARCUT_AMQP_RECONNECT_DELAY: '100ms',
    CLEARCUT_AMQP_RECONNECT_MAX_DELAY: '1s',
    CLEARCUT_GATEWAY_HTTP_PORT: '0',
  });
  gateway = p.h.gateways[0]!;
  worker = await p.startWorker();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
  await proxy?.close();
});

const readiness = async (port: number) => {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, boolean> } };
};

it('finishes a job whose gateway and worker lose the broker twice, with one output set per image', async () => {
  await runInterruptedJob(p, 'cut', async (progress) => {
    await progress.succeeded(3);
    expect(await progress.unfinished()).toBeGreaterThan(0);
    proxy.refuse(true);
    proxy.sever();
    // Down for a while: both say so on /readyz, and keep trying.
    await untilValue(async () => (await readiness(worker.httpPort)).status === 503, {
      what: 'the worker to report not ready',
      timeoutMs: 60_000,
    });
    expect((await readiness(worker.httpPort)).body.checks).toEqual({
      broker: false,
      database: true,
      'model u2netp': true,
      consuming: true,
    });
    expect((await readiness(gateway.httpPort)).body.checks).toMatchObject({ broker: false, database: true });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    proxy.refuse(false);
    await untilValue(async () => (await readiness(worker.httpPort)).status === 200, {
      what: 'the worker to be ready again',
      timeoutMs: 60_000,
    });
    await progress.succeeded(7);
    proxy.sever(); // and once more, straight back
  });
  expect((await readiness(gateway.httpPort)).status).toBe(200);
}, 300_000);

it('admits every job published while its connection was cut, each exactly once', async () => {
  const tenant = await p.h.tenant('unlimited');
  await p.h.quota(tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
  const input = await p.s3.createBucket('loss-in');
  await p.h.grant(tenant, input, '', 'read');
  await p.h.grant(tenant, input, 'cut/', 'write');
  const key = await p.h.key(tenant);
  const messages = Array.from({ length: 60 }, (_, i) =>
    p.h.signed(key, {
      version: 1,
      // Keys that do not exist: the worker fails them at once; admission is what is tested here.
      input: { bucket: input, keys: [`missing/${i}.png`] },
      output: { bucket: input, prefix: 'cut/' },
      renditions: [{ kind: 'mask', format: 'png' }],
      model: 'u2netp',
    }),
  );
  const jobCount = async () =>
    (
      await p.h.db.query<{ jobs: number }>('SELECT count(*)::int AS jobs FROM jobs WHERE tenant_id = $1', [
        tenant,
      ])
    )[0]!.jobs;
  // The first half is admitted and committed, but the gateway's acks never reach the broker
  // before its connection is cut: they come back redelivered and must be recognised, not replayed.
  proxy.hold();
  for (const message of messages.slice(0, 30)) await p.h.publish(message);
  await untilValue(async () => (await jobCount()) === 30, {
    what: 'the first 30 jobs to be committed',
    timeoutMs: 60_000,
  });
  proxy.sever();
  proxy.hold(false);
  for (const message of messages.slice(30)) await p.h.publish(message);

  for (const message of messages) {
    expect(await p.h.decision(message.messageId)).toMatchObject({ kind: 'accepted' });
  }
  const decided = p.h.results.messages
    .map((m) => m.json() as { kind: string; jobId?: string; eventId: string })
    .filter((e) => messages.some((m) => m.messageId === e.jobId));
  expect(decided.filter((e) => e.kind === 'rejected')).toEqual([]);
  expect(await jobCount()).toBe(60);
  const metrics = await (await fetch(`http://127.0.0.1:${gateway.httpPort}/metrics`)).text();
  const redelivered = /clearcut_gateway_messages_total\{outcome="redelivered"[^}]*\} (\d+)/.exec(metrics);
  expect(Number(redelivered?.[1])).toBeGreaterThanOrEqual(30);
  await untilValue(async () => (await p.h.broker.depth(p.h.broker.names.jobsQueue)) === 0, {
    what: 'an empty jobs queue',
    timeoutMs: 60_000,
  });
}, 120_000);
