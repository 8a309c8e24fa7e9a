import type { Channel } from 'amqplib';
import type { Declarations } from './topology.js';

/** Declares exchanges, queues and bindings; repeating it with the same specs changes nothing. */
export async function declareTopology(channel: Channel, { exchanges, queues }: Declarations): Promise<void> {
  for (const exchange of exchanges) {
    await channel.assertExchange(exchange.name, exchange.type, { durable: true });
  }
  for (const queue of queues) {
    await channel.assertQueue(queue.name, {
      durable: true,
      arguments: { ...queue.arguments, 'x-queue-type': queue.type },
    });
    for (const binding of queue.bindings) {
      await channel.bindQueue(queue.name, binding.exchange, binding.routingKey);
    }
  }
}
