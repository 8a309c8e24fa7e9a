import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import type { Task } from '../../src/contracts/task.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import type { ReceivedMessage } from '../support/broker.js';
import { until } from '../support/until.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from './harness.js';

// One tenant's big job must not starve another tenant's small one: tasks reach the shared queue
// only within each tenant's in-flight window, round robin; a task that ends frees a slot.

let h: GatewayHarness;
beforeAll(async () => {
  h = await createGatewayHarness('fairness', { CLEARCUT_DISPATCH_QUANTUM: '10' });
  await h.startGateway();
});
afterAll(async () => h?.dispose());

async function tenantWithKey(tier: string, limits: Parameters<GatewayHarness['quota']>[1]) {
  const tenant = await h.tenant(tier);
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'cutouts', '', 'write');
  await h.quota(tenant, limits);
  return { tenant, key: await h.key(tenant) };
}

const keys = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}/${i}.jpg`);
const catalogJob = (n: number, prefix: string) =>
  jobBody('catalog', keys(n, prefix), { bucket: 'cutouts', prefix: `${prefix}/` });

async function waitForDepth(queue: string, depth: number) {
  await until(async () => (await h.broker.depth(queue)) >= depth, {
    what: `${queue} to hold ${depth} messages`,
  });
}

const tasksOf = (messages: readonly ReceivedMessage[]) => messages.map((m) => m.json() as Task);

it("releases a small tenant's tasks while a large tenant's backlog waits for its window", async () => {
  const big = await tenantWithKey('pro', { maxItemsPerJob: 1000, maxInFlight: 20 });
  const small = await tenantWithKey('pro', { maxInFlight: 20 });
  const catalog = h.signed(big.key, catalogJob(1000, 'big'));
  await h.publish(catalog);
  expect(await h.decision(catalog.messageId)).toMatchObject({ kind: 'accepted', items: 1000 });
  const little = h.signed(small.key, catalogJob(5, 'small'));
  await h.publish(little);
  expect(await h.decision(little.messageId)).toMatchObject({ kind: 'accepted', items: 5 });

  const queue = h.broker.names.tasksQueue;
  await waitForDepth(queue, 25);
  const [dispatch] = await h.db.query<{ pending: number; in_flight: number }>(
    'SELECT pending, in_flight FROM tenant_dispatch WHERE tenant_id = $1',
    [big.tenant],
  );
  expect(dispatch).toEqual({ pending: 980, in_flight: 20 });
  const released = tasksOf(await h.broker.drain(queue));
  expect(released.filter((t) => t.tenant === small.tenant).map((t) => t.item)).toEqual([0, 1, 2, 3, 4]);
  const bigItems = released.filter((t) => t.tenant === big.tenant).map((t) => t.item);
  expect(bigItems).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(released[0]).toMatchObject({
    version: 1,
    jobId: catalog.messageId,
    keyId: big.key.keyId,
    source: { bucket: 'catalog', key: 'big/0.jpg' },
    output: { bucket: 'cutouts', prefix: 'big/' },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model: 'u2netp',
    attempt: 1,
  });

  // Five of the big tenant's tasks end: five more of its backlog are released, no more.
  const bigTasks = released.filter((t) => t.tenant === big.tenant);
  for (const task of bigTasks.slice(0, 5)) {
    await h.db.transaction((tx) =>
      completeTask(tx, task, { status: 'failed', error: { code: 'not_found', message: 'gone' } }),
    );
  }
  await waitForDepth(queue, 5);
  const next = tasksOf(await h.broker.drain(queue));
  expect(next.map((t) => t.item)).toEqual([20, 21, 22, 23, 24]);
  const [after] = await h.db.query('SELECT pending, in_flight FROM tenant_dispatch WHERE tenant_id = $1', [
    big.tenant,
  ]);
  expect(after).toEqual({ pending: 975, in_flight: 20 });
});

it('ends a job exactly once, counts each task once, and publishes item events', async () => {
  const { tenant, key } = await tenantWithKey('pro', {});
  const message = h.signed(key, catalogJob(3, 'trio'));
  await h.publish(message);
  await h.decision(message.messageId);
  await waitForDepth(h.broker.names.tasksQueue, 3);
  const tasks = tasksOf(await h.broker.drain(h.broker.names.tasksQueue)).filter((t) => t.tenant === tenant);
  expect(tasks).toHaveLength(3);

  const outputs = [
    {
      rendition: 'cutout' as const,
      bucket: 'cutouts',
      key: 'trio/0.cutout.png',
      contentType: 'image/png',
      bytes: 10,
      width: 1,
      height: 1,
    },
  ];
  const results = [];
  for (const task of tasks) {
    results.push(await h.db.transaction((tx) => completeTask(tx, task, { status: 'succeeded', outputs })));
  }
  expect(results.map((r) => r.job?.completed)).toEqual([false, false, true]);
  expect(results[2]?.job).toMatchObject({ total: 3, succeeded: 3, failed: 0 });
  // A redelivered copy of a finished task changes nothing.
  const again = await h.db.transaction((tx) =>
    completeTask(tx, tasks[0]!, { status: 'failed', error: { code: 'x', message: 'late copy' } }),
  );
  expect(again).toEqual({ applied: false });
  const [job] = await h.db.query('SELECT state, succeeded, failed FROM jobs WHERE tenant_id = $1', [tenant]);
  expect(job).toEqual({ state: 'completed', succeeded: 3, failed: 0 });
  const [window] = await h.db.query('SELECT in_flight FROM tenant_dispatch WHERE tenant_id = $1', [tenant]);
  expect(window).toEqual({ in_flight: 0 });

  const itemEvents = (messages: readonly ReceivedMessage[]) =>
    messages.filter((m) => m.routingKey.startsWith(`${tenant}.${message.messageId}.item.`));
  await h.results.waitFor((messages) => itemEvents(messages).length >= 3);
  const events = itemEvents(h.results.messages).map((m) => m.json() as ResultEvent);
  expect(events.map((e) => e.kind)).toEqual(['item.succeeded', 'item.succeeded', 'item.succeeded']);
  expect(events[0]).toMatchObject({ taskId: tasks[0]!.taskId, item: 0, source: { key: 'trio/0.jpg' } });
});

it('sends the unlimited tier to the priority lane', async () => {
  const { tenant, key } = await tenantWithKey('unlimited', {});
  const message = h.signed(key, catalogJob(2, 'vip'));
  await h.publish(message);
  await h.decision(message.messageId);
  await waitForDepth(h.broker.names.priorityTasksQueue, 2);
  const lane = tasksOf(await h.broker.drain(h.broker.names.priorityTasksQueue));
  expect(lane.map((t) => [t.tenant, t.item])).toEqual([
    [tenant, 0],
    [tenant, 1],
  ]);
});
