import type { Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadLetterStream, deliveryLimit } from '../../src/queue/topology.js';
import { createTestBroker, type TestBroker } from '../support/broker.js';
import { runCli } from '../support/cli.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';

// A poison message: one that kills whichever process takes it. To the broker a crash is a channel
// closed while it holds the delivery unacked, so each "crash" here takes the message and closes
// the channel. Without a delivery limit the message came back forever (RabbitMQ 3.x) or vanished
// (4.x), leaving its task in flight; now, after the limit, it waits in its stream's dead-letter
// queue, where `clearcut dlq` shows it and can replay it.

let environment: TestEnvironment;
let broker: TestBroker;

beforeAll(async () => {
  environment = await createTestEnvironment('poison');
  broker = await createTestBroker(environment.amqpPrefix);
  await broker.declare();
});
afterAll(async () => {
  await broker?.dispose();
  await environment?.dispose();
});

/** Takes the next delivery of `queue` and dies holding it; false once the queue has none. */
async function crashOn(queue: string): Promise<boolean> {
  const channel: Channel = await broker.bus.channel();
  const message = await channel.get(queue, { noAck: false });
  await channel.close();
  return message !== false;
}

/** Crashes on `queue` until the broker moves its message to `deadQueue`; returns the crashes. */
async function crashUntilDeadLettered(queue: string, deadQueue: string): Promise<number> {
  let crashes = 0;
  await until(
    async () => {
      if ((await broker.depth(deadQueue)) > 0) return true;
      if (await crashOn(queue)) crashes++;
      return false;
    },
    { what: `${queue} to give up its poison message`, timeoutMs: 30_000, intervalMs: 5 },
  );
  return crashes;
}

const cases: [DeadLetterStream, () => { exchange: string; routingKey: string; queue: string }][] = [
  ['jobs', () => ({ exchange: broker.names.jobsExchange, routingKey: '', queue: broker.names.jobsQueue })],
  [
    'events',
    () => ({ exchange: broker.names.eventsExchange, routingKey: '', queue: broker.names.eventsQueue }),
  ],
  [
    'tasks',
    () => ({
      exchange: broker.names.tasksExchange,
      routingKey: 'priority',
      queue: broker.names.priorityTasksQueue,
    }),
  ],
];

describe.each(cases)('a %s message that crashes its consumer', (stream, route) => {
  it(`is dead-lettered once returned more than ${deliveryLimit} times, listed and replayable`, async () => {
    const { exchange, routingKey, queue } = route();
    const publisher = await broker.bus.publisher();
    const messageId = `poison-${stream}`;
    await publisher.publish([
      {
        exchange,
        routingKey,
        messageId,
        body: Buffer.from('{"boom":true}'),
        headers: { 'cc-key-id': 'ck_test_x' },
      },
    ]);
    await publisher.close();

    const deadQueue = broker.names.deadLetterQueues[stream];
    // The limit counts returns: the delivery after the last one allowed is dead-lettered.
    expect(await crashUntilDeadLettered(queue, deadQueue)).toBe(deliveryLimit + 1);
    expect(await broker.depth(queue)).toBe(0);

    const listed = await runCli(environment.env, 'dlq', 'list', '--queue', stream, '--json');
    expect(listed.status, listed.err).toBe(0);
    const [entry] = JSON.parse(listed.out) as Record<string, unknown>[];
    if (stream === 'tasks') {
      expect(entry).toMatchObject({ lane: 'priority', error: { code: 'delivery_limit' } });
      return; // an unreadable task is never replayed; the e2e tests replay real ones
    }
    expect(entry).toMatchObject({ messageId, keyId: 'ck_test_x', bytes: 13, reason: 'delivery_limit' });
    // Listing leaves it there (the queue takes it back once the command's channel has closed).
    await until(async () => (await broker.depth(deadQueue)) === 1, { what: `${deadQueue} to hold it again` });

    const replayed = await runCli(environment.env, 'dlq', 'replay', '--queue', stream, messageId);
    expect(replayed.status, replayed.err).toBe(0);
    expect(await broker.depth(deadQueue)).toBe(0);
    const [back] = await broker.drain(queue);
    expect(back?.messageId).toBe(messageId);
    expect(back?.body.toString()).toBe('{"boom":true}');
  });
});

it('refuses an unknown --queue with the choices', async () => {
  const wrong = await runCli(environment.env, 'dlq', 'list', '--queue', 'results');
  expect(wrong.status).toBe(2);
  expect(wrong.err).toMatch(/--queue "results" is not one of jobs, events, tasks/);
});
