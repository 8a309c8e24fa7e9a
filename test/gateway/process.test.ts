import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import type { Task } from '../../src/contracts/task.js';
import { startServiceProcess } from '../support/service-process.js';
import { type HoldingProxy, startHoldingProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from './harness.js';

// A gateway process is SIGKILLed after its admission transaction committed and before its ack
// reached the broker (its broker connection runs through a proxy that holds everything it sends).
// The broker redelivers the job to the next gateway, which must neither lose nor repeat it.

let h: GatewayHarness;
let proxy: HoldingProxy;
let child: ChildProcess | undefined;

beforeAll(async () => {
  h = await createGatewayHarness('sigkill', { CLEARCUT_PUBLISH_LEASE: '1s' });
  proxy = await startHoldingProxy({ host: '127.0.0.1', port: 5672 });
});
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await proxy?.close();
  await h?.dispose();
});

async function startGatewayProcess(
  amqpUrl = `amqp://guest:guest@127.0.0.1:${proxy.port}`,
): Promise<ChildProcess> {
  const env = { ...h.environment.env, CLEARCUT_AMQP_URL: amqpUrl, CLEARCUT_PUBLISH_LEASE: '1s' };
  return (await startServiceProcess(['workers/gateway.ts'], env, 'gateway started')).child;
}

/** Polls with the shared helper; a process test gets a longer deadline. */
const waitFor = (condition: () => Promise<boolean>, what: string) =>
  until(condition, { timeoutMs: 20_000, intervalMs: 25, what });

async function setUpTenant() {
  const tenant = await h.tenant();
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'cutouts', '', 'write');
  return { tenant, key: await h.key(tenant) };
}

it('drains on SIGTERM: decides and acks what it received, exits 0, loses nothing', async () => {
  const { tenant, key } = await setUpTenant();
  await h.quota(tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
  child = await startGatewayProcess(h.environment.env.CLEARCUT_AMQP_URL);
  const messages = Array.from({ length: 40 }, (_, i) =>
    h.signed(key, jobBody('catalog', [`${i}.jpg`], { bucket: 'cutouts', prefix: '' })),
  );
  await Promise.all(messages.map((message) => h.publish(message)));
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  const admitted = async () => (await h.db.query('SELECT 1 FROM jobs WHERE tenant_id = $1', [tenant])).length;
  // Whatever it did not take is still in the inbox: nothing is lost.
  expect((await admitted()) + (await h.broker.depth(h.broker.names.jobsQueue))).toBe(40);
  child = await startGatewayProcess(h.environment.env.CLEARCUT_AMQP_URL);
  await waitFor(async () => (await admitted()) === 40, 'the rest to be admitted by the next gateway');
  child.kill('SIGTERM');
  expect((await once(child, 'exit'))[0]).toBe(0);
  expect(await h.broker.depth(h.broker.names.jobsQueue)).toBe(0);
  const tasks = await h.broker.drain(h.broker.names.tasksQueue);
  expect(tasks).toHaveLength(40);
});

it('neither loses nor duplicates a job admitted by a gateway killed before its ack', async () => {
  const { tenant, key } = await setUpTenant();
  const message = h.signed(
    key,
    jobBody('catalog', ['a.jpg', 'b.jpg', 'c.jpg'], { bucket: 'cutouts', prefix: '' }),
  );

  child = await startGatewayProcess();
  proxy.hold();
  await h.publish(message);
  const jobRows = () =>
    h.db.query('SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2', [tenant, message.messageId]);
  await waitFor(async () => (await jobRows()).length === 1, 'the admission to commit');
  child.kill('SIGKILL');
  await once(child, 'exit');
  // The broker saw no ack: the job is back in the inbox, marked redelivered.
  await waitFor(async () => (await h.broker.depth(h.broker.names.jobsQueue)) === 1, 'the job to be requeued');

  await h.startGateway();
  const queue = h.broker.names.tasksQueue;
  await waitFor(
    async () => (await h.broker.depth(h.broker.names.jobsQueue)) === 0,
    'the redelivery to be acked',
  );
  await waitFor(async () => (await h.broker.depth(queue)) >= 3, 'the tasks to be published');
  await waitFor(async () => (await h.db.query('SELECT 1 FROM outbox')).length === 0, 'the outbox to drain');
  await waitFor(
    async () =>
      (await h.db.query('SELECT 1 FROM tasks WHERE tenant_id = $1 AND published_at IS NULL', [tenant]))
        .length === 0,
    'every task to be recorded published',
  );

  expect(await jobRows()).toHaveLength(1);
  const tasks = (await h.broker.drain(queue)).map((m) => m.json() as Task);
  expect(tasks.map((t) => t.item).sort()).toEqual([0, 1, 2]);
  const decisions = h.results.messages
    .map((m) => m.json() as ResultEvent)
    .filter((e) => 'jobId' in e && e.jobId === message.messageId);
  expect(decisions.map((e) => e.kind)).toEqual(['accepted']);
  const audit = await h.db.query('SELECT outcome FROM audit_log WHERE message_id = $1', [message.messageId]);
  expect(audit).toEqual([{ outcome: 'accepted' }]);
});
