import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type AmqpBus, connectAmqpBus } from '../../src/queue/amqp-bus.js';
import type { Delivery, Publisher, Subscription } from '../../src/queue/bus.js';
import type { Declarations } from '../../src/queue/topology.js';
import { testAmqpUrl } from '../support/environment.js';
import { type HoldingProxy, startHoldingProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';

// A bus that reconnects, talking to the real broker through a proxy that can cut its connection
// or refuse new ones (as a restarting broker does) without disturbing other test files.

const prefix = `t_reconnect_${randomBytes(4).toString('hex')}`;
const queue = `${prefix}.work`;
const exchange = `${prefix}.in`;
const topology: Declarations = {
  exchanges: [{ name: exchange, type: 'fanout' }],
  queues: [{ name: queue, type: 'quorum', bindings: [{ exchange, routingKey: '' }] }],
};

let proxy: HoldingProxy;
let direct: AmqpBus;
let directPublisher: Publisher;
const logLines: { msg: string; retryInMs?: number }[] = [];
const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
const opened: AmqpBus[] = [];

beforeAll(async () => {
  proxy = await startHoldingProxy({ host: '127.0.0.1', port: 5672 });
  direct = await connectAmqpBus(testAmqpUrl, { connectionName: `test ${prefix} direct`, topology });
  directPublisher = await direct.publisher();
});
afterEach(async () => {
  for (const bus of opened.splice(0)) await bus.close();
  proxy.refuse(false);
  const channel = await direct.channel();
  await channel.purgeQueue(queue);
  await channel.close();
  logLines.length = 0;
});
afterAll(async () => {
  const channel = await direct.channel();
  await channel.deleteQueue(queue);
  await channel.deleteExchange(exchange);
  await direct.close();
  await proxy.close();
});

async function reconnectingBus(): Promise<AmqpBus> {
  const bus = await connectAmqpBus(`amqp://guest:guest@127.0.0.1:${proxy.port}`, {
    connectionName: `test ${prefix} resilient`,
    topology,
    reconnect: { backoff: { initialMs: 50, maxMs: 400 }, log },
  });
  opened.push(bus);
  return bus;
}

const publish = (...bodies: string[]) =>
  directPublisher.publish(bodies.map((body) => ({ exchange, routingKey: '', body: Buffer.from(body) })));

async function depth(): Promise<number> {
  const channel = await direct.channel();
  try {
    return (await channel.checkQueue(queue)).messageCount;
  } finally {
    await channel.close();
  }
}

it('consumes again after its connection is cut; what it held comes back, and stale acks do nothing', async () => {
  const bus = await reconnectingBus();
  const received: Delivery[] = [];
  const subscription: Subscription = await bus.consume(queue, { prefetch: 3 }, (d) => received.push(d));
  await publish('one', 'two', 'three', 'four');
  await until(() => received.length === 3, { what: 'three deliveries (the prefetch)' });
  const before = received.splice(0);
  // Acks are not confirmed; the broker sending 'four' into the slot the ack freed shows it landed.
  subscription.ack(before[0]!);
  await until(() => received.length === 1, { what: "'four', once the ack of 'one' freed a prefetch slot" });
  received.splice(0);

  proxy.sever();
  await until(() => received.length === 3, { what: 'the three unacked messages again' });
  expect(bus.connected).toBe(true);
  expect(received.map((d) => [d.body.toString(), d.redelivered])).toEqual([
    ['two', true],
    ['three', true],
    ['four', true],
  ]);
  // The old 'two' had tag 2 on the dead channel; the new channel's tag 2 is 'three'. Acking the
  // stale delivery must not ack it.
  expect(before[1]!.tag).toBe(received[1]!.tag);
  expect(subscription.holds(before[1]!)).toBe(false);
  expect(subscription.holds(received[1]!)).toBe(true);
  subscription.ack(before[1]!, true);
  await subscription.close(); // returns whatever is unacked (a quorum queue takes a moment)
  await until(async () => (await depth()) === 3, { what: "'two', 'three' and 'four' back in the queue" });

  expect(logLines.map((line) => line.msg)).toEqual([
    'broker connection lost; reconnecting',
    'broker connection restored; topology declared, consuming again',
  ]);
});

it('keeps trying with capped backoff while the broker is unreachable; publishing fails clearly meanwhile', async () => {
  const bus = await reconnectingBus();
  const publisher = await bus.publisher();
  const received: Delivery[] = [];
  const subscription = await bus.consume(queue, { prefetch: 10 }, (d) => {
    received.push(d);
    subscription.ack(d);
  });

  proxy.refuse(true);
  proxy.sever();
  await until(() => logLines.length >= 6, { what: 'several failed attempts' });
  expect(bus.connected).toBe(false);
  await expect(publisher.publish([{ exchange, routingKey: '', body: Buffer.from('x') }])).rejects.toThrow(
    /not connected to the broker \(reconnecting\)/,
  );
  const waits = logLines.map((line) => line.retryInMs!);
  expect(logLines[0]!.msg).toBe('broker connection lost; reconnecting');
  expect(logLines.slice(1).every((line) => line.msg === 'broker still unreachable; trying again')).toBe(true);
  // Doubling from 50 ms with the upper half random, never past the 400 ms cap.
  for (const [attempt, wait] of waits.entries()) {
    const ceiling = Math.min(400, 50 * 2 ** attempt);
    expect(wait).toBeGreaterThanOrEqual(ceiling / 2);
    expect(wait).toBeLessThanOrEqual(ceiling);
  }

  proxy.refuse(false);
  await until(() => bus.connected, { what: 'the connection to come back' });
  await publisher.publish([{ exchange, routingKey: '', body: Buffer.from('after') }]);
  await until(() => received.some((d) => d.body.toString() === 'after'), { what: 'the message sent after' });
  expect(await depth()).toBe(0);
});

it('declares its topology again: a queue deleted under its consumer comes back and is consumed', async () => {
  const bus = await reconnectingBus();
  const received: string[] = [];
  const subscription = await bus.consume(queue, { prefetch: 10 }, (d) => {
    received.push(d.body.toString());
    subscription.ack(d);
  });
  const channel = await direct.channel();
  await channel.deleteQueue(queue);
  await channel.close();
  await until(() => logLines.some((line) => line.msg.startsWith('broker connection restored')), {
    what: 'the bus to reconnect',
  });
  await publish('back');
  await until(() => received.includes('back'), { what: 'a delivery from the re-declared queue' });
  expect(logLines[0]!.msg).toBe('consumer channel lost; restarting the broker connection');
});

it('without reconnect, reports the lost connection once and stays down', async () => {
  const lost: Error[] = [];
  const bus = await connectAmqpBus(`amqp://guest:guest@127.0.0.1:${proxy.port}`, {
    connectionName: `test ${prefix} one-shot`,
    onConnectionLost: (error) => lost.push(error),
  });
  opened.push(bus);
  proxy.sever();
  await until(() => lost.length === 1, { what: 'the loss to be reported' });
  expect(bus.connected).toBe(false);
  // Once the bus is shut down every event of the dead connection has been handled: still one report.
  await bus.close();
  expect(lost).toHaveLength(1);
});
