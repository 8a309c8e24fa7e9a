import { afterAll, beforeAll, expect, it } from 'vitest';
import { declareTopology } from '../../src/queue/amqp-topology.js';
import { gatewayTopology, resultRoutingKey, taskLaneRoutingKeys } from '../../src/queue/topology.js';
import { createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

let environment: TestEnvironment;
let broker: TestBroker;
beforeAll(async () => {
  environment = await createTestEnvironment('topology');
  broker = await createTestBroker(environment.amqpPrefix);
});
afterAll(async () => {
  await broker?.dispose();
  await environment?.dispose();
});

it('declares the same topology again without complaint (every gateway does at start)', async () => {
  await broker.declare();
  await broker.declare();
  const channel = await broker.bus.channel();
  await declareTopology(channel, gatewayTopology(broker.names));
  await channel.close();
});

it('makes the inbox and the task lanes quorum queues: redeclaring them as classic is refused', async () => {
  for (const queue of [broker.names.jobsQueue, broker.names.tasksQueue, broker.names.priorityTasksQueue]) {
    const channel = await broker.bus.channel();
    channel.on('error', () => {});
    // Its own arguments but classic: only the queue type differs.
    const declared = gatewayTopology(broker.names).queues.find((spec) => spec.name === queue)?.arguments;
    await expect(
      channel.assertQueue(queue, { durable: true, arguments: { ...declared, 'x-queue-type': 'classic' } }),
    ).rejects.toThrow(/PRECONDITION_FAILED.*x-queue-type/);
  }
});

it('routes jobs to the inbox whatever the routing key, and tasks by lane', async () => {
  const publisher = await broker.bus.publisher();
  const message = (exchange: string, routingKey: string, text: string) => ({
    exchange,
    routingKey,
    body: Buffer.from(text),
  });
  await publisher.publish([
    message(broker.names.jobsExchange, '', 'job-1'),
    message(broker.names.jobsExchange, 'anything', 'job-2'),
    message(broker.names.tasksExchange, taskLaneRoutingKeys.normal, 'task-n'),
    message(broker.names.tasksExchange, taskLaneRoutingKeys.priority, 'task-p'),
  ]);
  await publisher.close();
  const texts = async (queue: string) => (await broker.drain(queue)).map((m) => m.body.toString());
  expect(await texts(broker.names.jobsQueue)).toEqual(['job-1', 'job-2']);
  expect(await texts(broker.names.tasksQueue)).toEqual(['task-n']);
  expect(await texts(broker.names.priorityTasksQueue)).toEqual(['task-p']);
});

it('routes result events by tenant, job and kind, so a producer can follow one job', async () => {
  const followed = await broker.collect(broker.names.resultsExchange, '*.job-7.#');
  const publisher = await broker.bus.publisher();
  const event = (tenant: string | undefined, job: string, kind: 'accepted' | 'item.succeeded') => ({
    exchange: broker.names.resultsExchange,
    routingKey: resultRoutingKey(tenant, job, kind),
    body: Buffer.from(`${tenant}.${job}.${kind}`),
  });
  await publisher.publish([
    event('acme', 'job-7', 'accepted'),
    event('acme', 'job-8', 'accepted'),
    event(undefined, 'job-7', 'accepted'),
    event('acme', 'job-7', 'item.succeeded'),
  ]);
  await publisher.close();
  await followed.waitFor((messages) => messages.length === 3);
  expect(followed.messages.map((m) => m.routingKey)).toEqual([
    'acme.job-7.accepted',
    '_.job-7.accepted',
    'acme.job-7.item.succeeded',
  ]);
});

it('turns anything that is not a routing-key word into "_"', () => {
  expect(resultRoutingKey('acme', 'a.b#c*d', 'rejected')).toBe('acme.a_b_c_d.rejected');
  expect(resultRoutingKey(undefined, undefined, 'rejected')).toBe('_._.rejected');
});

it('a publisher reports a refused publish and keeps working after the broker closed its channel', async () => {
  const publisher = await broker.bus.publisher();
  const to = (exchange: string) => [{ exchange, routingKey: '', body: Buffer.from('x') }];
  await expect(publisher.publish(to(`${broker.names.jobsExchange}.missing`))).rejects.toThrow();
  await publisher.publish(to(broker.names.jobsExchange));
  await publisher.close();
  expect((await broker.drain(broker.names.jobsQueue)).map((m) => m.body.toString())).toEqual(['x']);
});
