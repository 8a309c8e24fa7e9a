import { type AmqpBus, toDelivery } from './amqp-bus.js';
import type { Delivery } from './bus.js';

export interface HeldMessage extends Delivery {
  /** Removes this message from the queue for good. */
  ack(): void;
}

export interface QueueBrowse {
  /** Every message in the queue when browsing started (up to the limit), held unacked. */
  readonly messages: readonly HeldMessage[];
  /** Returns every message not acked to the queue. */
  close(): Promise<void>;
}

/**
 * Reads a queue without consuming it: messages are fetched unacked, and closing the channel gives
 * back every one that was not acked. Nothing is lost if the caller dies half-way.
 */
export async function browseQueue(bus: AmqpBus, queue: string, limit: number): Promise<QueueBrowse> {
  const channel = await bus.channel();
  const messages: HeldMessage[] = [];
  try {
    while (messages.length < limit) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      messages.push({ ...toDelivery(message), ack: () => channel.ack(message) });
    }
  } catch (error) {
    await channel.close().catch(() => {});
    throw error;
  }
  return { messages, close: () => channel.close().catch(() => {}) };
}
