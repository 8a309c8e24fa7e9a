import type { Channel } from 'amqplib';
import { createLogger } from '../../src/log.js';
import { type AmqpBus, connectAmqpBus } from '../../src/queue/amqp-bus.js';
import { declareTopology } from '../../src/queue/amqp-topology.js';
import { gatewayTopology, type Topology, topologyNames } from '../../src/queue/topology.js';
import { testAmqpUrl } from './environment.js';

/** A message read back from a queue. */
export interface ReceivedMessage {
  readonly body: Buffer;
  readonly routingKey: string;
  readonly messageId: unknown;
  readonly json: () => unknown;
}

export interface RawJobMessage {
  readonly body: Buffer;
  readonly messageId?: string;
  readonly contentType?: string;
  readonly headers?: Record<string, unknown>;
}

export interface TestBroker {
  readonly names: Topology;
  readonly bus: AmqpBus;
  /** Declares the gateway's topology (as the gateway does at start). */
  declare(): Promise<void>;
  /** Publishes to the jobs exchange with exactly these properties (confirmed). */
  publishJob(message: RawJobMessage): Promise<void>;
  /** An extra queue bound to `exchange`, deleted at dispose; collects every message it receives. */
  collect(exchange: string, routingKey: string): Promise<Collector>;
  /** Takes every message currently in `queue` (acked). */
  drain(queue: string): Promise<ReceivedMessage[]>;
  depth(queue: string): Promise<number>;
  /** Deletes every queue and exchange of the prefix this helper may have declared, closes the connection. */
  dispose(): Promise<void>;
}

export interface Collector {
  readonly messages: ReceivedMessage[];
  /** Resolves once `predicate` holds for the collected messages; rejects after `timeoutMs`. */
  waitFor(predicate: (messages: readonly ReceivedMessage[]) => boolean, timeoutMs?: number): Promise<void>;
}

/**
 * Broker resources named after the test's prefix (test/support/environment.ts). The connection
 * comes back after a broker restart (collectors do not: their queues die with it).
 */
export async function createTestBroker(prefix: string): Promise<TestBroker> {
  const names = topologyNames(prefix);
  const bus = await connectAmqpBus(testAmqpUrl, {
    connectionName: `test ${prefix}`,
    reconnect: { backoff: { initialMs: 100, maxMs: 1000 }, log: createLogger('silent') },
  });
  const publisher = await bus.publisher();
  let open: Channel | undefined;
  /** One channel for everything, opened again once a broker restart or a channel error closed it. */
  const control = async () => {
    const deadline = Date.now() + 60_000;
    while (!bus.connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (!open) {
      const opened = await bus.channel();
      opened.on('error', () => {});
      opened.on('close', () => {
        if (open === opened) open = undefined;
      });
      open = opened;
    }
    return open;
  };
  const extraQueues: string[] = [];
  const toReceived = (message: {
    content: Buffer;
    fields: { routingKey: string };
    properties: { messageId: unknown };
  }) => ({
    body: message.content,
    routingKey: message.fields.routingKey,
    messageId: message.properties.messageId,
    json: () => JSON.parse(message.content.toString('utf8')),
  });

  return {
    names,
    bus,
    declare: async () => declareTopology(await control(), gatewayTopology(names)),
    async publishJob(message) {
      // Exactly what the test says, including what no well-behaved producer would send.
      await publisher.publish([
        {
          exchange: names.jobsExchange,
          routingKey: '',
          body: message.body,
          ...(message.messageId === undefined ? {} : { messageId: message.messageId }),
          ...(message.contentType === undefined ? {} : { contentType: message.contentType }),
          headers: message.headers as Record<string, string>,
        },
      ]);
    },
    async collect(exchange, routingKey) {
      const channel = await control();
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      extraQueues.push(queue);
      await channel.bindQueue(queue, exchange, routingKey);
      const messages: ReceivedMessage[] = [];
      await channel.consume(queue, (message) => message && messages.push(toReceived(message)), {
        noAck: true,
      });
      return {
        messages,
        async waitFor(predicate, timeoutMs = 15_000) {
          const deadline = Date.now() + timeoutMs;
          while (!predicate(messages)) {
            if (Date.now() > deadline)
              throw new Error(`timed out after ${timeoutMs} ms; collected ${messages.length}`);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        },
      };
    },
    async drain(queue) {
      const channel = await control();
      const taken: ReceivedMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (message === false) return taken;
        taken.push(toReceived(message));
      }
    },
    async depth(queue) {
      return (await (await control()).checkQueue(queue)).messageCount;
    },
    async dispose() {
      const { queues, exchanges } = gatewayTopology(names);
      const channel = await control();
      for (const queue of [...queues.map((q) => q.name), ...extraQueues]) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange.name);
      await bus.close();
    },
  };
}
