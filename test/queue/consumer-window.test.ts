import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type AmqpBus, connectAmqpBus } from '../../src/queue/amqp-bus.js';
import type { Delivery, Publisher } from '../../src/queue/bus.js';
import type { Declarations } from '../../src/queue/topology.js';
import { testAmqpUrl } from '../support/environment.js';
import { until } from '../support/until.js';

// A consumer with a byte budget, on the real broker: its window (what the broker may send before
// it can be stopped) is the budget left over in messages of the largest size; once a window has
// arrived and its messages are small, a new consumer takes a new window, up to the prefetch.

const prefix = `t_window_${randomBytes(4).toString('hex')}`;
const queue = `${prefix}.work`;
const exchange = `${prefix}.in`;
const topology: Declarations = {
  exchanges: [{ name: exchange, type: 'fanout' }],
  queues: [{ name: queue, type: 'quorum', bindings: [{ exchange, routingKey: '' }] }],
};
const budget = { prefetch: 20, maxBytesInHand: 4096, maxMessageBytes: 1024 };

let bus: AmqpBus;
let publisher: Publisher;
beforeAll(async () => {
  bus = await connectAmqpBus(testAmqpUrl, { connectionName: `test ${prefix}`, topology });
  publisher = await bus.publisher();
});
afterEach(async () => {
  const channel = await bus.channel();
  await channel.purgeQueue(queue);
  await channel.close();
});
afterAll(async () => {
  const channel = await bus.channel();
  await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await bus.close();
});

const publish = (count: number, bytes: number) =>
  publisher.publish(
    Array.from({ length: count }, () => ({ exchange, routingKey: '', body: Buffer.alloc(bytes, 'x') })),
  );

async function ready(): Promise<number> {
  const channel = await bus.channel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

it('holds up to the prefetch of small messages, in windows the byte budget allows', async () => {
  const received: Delivery[] = [];
  const subscription = await bus.consume(queue, budget, (d) => received.push(d));
  await publish(30, 10);
  await until(async () => received.length === 20 && (await ready()) === 10, {
    what: '20 small messages held (the prefetch), 10 left in the queue',
  });
  expect(received.length).toBe(20);
  // Acking frees room: the rest arrives, in new windows, and all of it can be acked.
  subscription.ack(received[19]!, true);
  await until(() => received.length === 30, { what: 'the last 10 messages' });
  subscription.ack(received[29]!, true);
  await subscription.close();
  expect(await ready()).toBe(0);
});

it('holds one window of the largest messages: the byte budget, not the prefetch', async () => {
  const received: Delivery[] = [];
  const subscription = await bus.consume(queue, budget, (d) => received.push(d));
  await publish(10, 1000);
  await until(async () => received.length === 4 && (await ready()) === 6, {
    what: '4 large messages held (4 KiB), 6 left in the queue',
  });
  expect(received.length).toBe(4);
  // Acking one frees one place in the window: exactly one more arrives.
  subscription.ack(received[0]!);
  await until(async () => received.length === 5 && (await ready()) === 5, { what: 'a fifth message' });
  expect(received.length).toBe(5);
  await subscription.close();
});
