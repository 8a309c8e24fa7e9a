import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { declareTopology } from '../../src/queue/amqp-topology.js';
import { gatewayTopology } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { retriesFromHeaders } from '../../src/worker/retry-policy.js';
import { createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// The retry path on the real broker: a task parked in a retry queue comes back to its lane after
// the queue's TTL with x-death counting, and the count survives being parked again.

let environment: TestEnvironment;
let broker: TestBroker;
const delays = [50, 100];
let topology: ReturnType<typeof workerTopology>;

beforeAll(async () => {
  environment = await createTestEnvironment('workertopo');
  broker = await createTestBroker(environment.amqpPrefix);
  topology = workerTopology(broker.names, delays);
  const channel = await broker.bus.channel();
  await declareTopology(channel, {
    exchanges: gatewayTopology(broker.names).exchanges,
    queues: [...gatewayTopology(broker.names).queues, ...topology.queues],
  });
  await channel.close();
});
afterAll(async () => {
  const channel = await broker.bus.channel();
  for (const queue of topology.queues) await channel.deleteQueue(queue.name);
  await channel.close();
  await broker?.dispose();
  await environment?.dispose();
});

it('names one retry queue per delay and lane; later attempts reuse the last delay', () => {
  const prefix = environment.amqpPrefix;
  expect(topology.retryQueue('normal', 1)).toBe(`${prefix}.tasks.retry.normal.50ms`);
  expect(topology.retryQueue('priority', 2)).toBe(`${prefix}.tasks.retry.priority.100ms`);
  expect(topology.retryQueue('normal', 7)).toBe(`${prefix}.tasks.retry.normal.100ms`);
  expect(topology.deadLetterQueue).toBe(`${prefix}.tasks.dead`);
  expect(loadConfig({ ...environment.env, CLEARCUT_RETRY_DELAYS: '1s,30s,2m' }).worker.retryDelaysMs).toEqual(
    [1000, 30_000, 120_000],
  );
  expect(() => loadConfig({ ...environment.env, CLEARCUT_RETRY_DELAYS: '1s,soon' })).toThrow(
    /CLEARCUT_RETRY_DELAYS="1s,soon" is invalid: expected up to 20 comma-separated durations/,
  );
});

async function parkAndWait(lane: 'normal' | 'priority', attempt: number, headers?: Record<string, unknown>) {
  const publisher = await broker.bus.publisher();
  await publisher.publish([
    {
      exchange: '',
      routingKey: topology.retryQueue(lane, attempt),
      body: Buffer.from('{"task":1}'),
      messageId: 'm1',
      ...(headers === undefined ? {} : { headers: headers as Record<string, string> }),
    },
  ]);
  await publisher.close();
  const queue = lane === 'priority' ? broker.names.priorityTasksQueue : broker.names.tasksQueue;
  const channel = await broker.bus.channel();
  try {
    for (let tries = 0; tries < 200; tries++) {
      const message = await channel.get(queue, { noAck: true });
      if (message !== false) return message;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`nothing came back to ${queue}`);
  } finally {
    await channel.close();
  }
}

it('hands a parked task back to its own lane after the TTL, with the retries counted in x-death', async () => {
  const first = await parkAndWait('priority', 1);
  expect(first.content.toString()).toBe('{"task":1}');
  expect(retriesFromHeaders(first.properties.headers)).toBe(1);
  const second = await parkAndWait('priority', 2, { 'x-death': first.properties.headers?.['x-death'] });
  expect(retriesFromHeaders(second.properties.headers)).toBe(2);
  const third = await parkAndWait('priority', 3, { 'x-death': second.properties.headers?.['x-death'] });
  expect(retriesFromHeaders(third.properties.headers)).toBe(3);
  expect(await broker.depth(broker.names.tasksQueue)).toBe(0);
});
