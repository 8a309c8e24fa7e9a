import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Message,
} from 'amqplib';
import type { Delivery, MessageBus, OutboundMessage, Publisher, Subscription } from './bus.js';

export interface AmqpBusOptions {
  /** Shown in the broker's management UI, so an operator can tell processes apart. */
  readonly connectionName: string;
  /** The connection died (broker restart, network): the owner decides whether to stop or reconnect. */
  readonly onConnectionLost?: (error: Error) => void;
}

export interface AmqpBus extends MessageBus {
  /** A plain channel for topology declarations; closed by the caller. */
  channel(): Promise<Channel>;
}

/** One connection; a confirm channel per publisher and a channel per consumer. */
export async function connectAmqpBus(url: string, options: AmqpBusOptions): Promise<AmqpBus> {
  const connection: ChannelModel = await amqp.connect(url, {
    clientProperties: { connection_name: options.connectionName },
  });
  let closing = false;
  connection.on('error', () => {}); // 'close' follows with the same error; handled there.
  connection.on('close', (error?: Error) => {
    if (!closing) options.onConnectionLost?.(error ?? new Error('AMQP connection closed by the broker'));
  });

  return {
    channel: () => connection.createChannel(),
    async publisher() {
      return confirmPublisher(() => connection.createConfirmChannel());
    },
    async consume(queue, { prefetch, onLost }, onDelivery) {
      const channel = await connection.createChannel();
      return subscribe(channel, queue, prefetch, onDelivery, onLost);
    },
    async close() {
      if (closing) return;
      closing = true;
      await connection.close().catch(() => {});
    },
  };
}

/**
 * A confirm channel, opened on first use and again after the broker closed it (a channel error
 * such as a missing exchange closes only that channel, not the connection).
 */
function confirmPublisher(open: () => Promise<ConfirmChannel>): Publisher {
  let channel: Promise<{ channel: ConfirmChannel; closed: boolean }> | undefined;
  let stopped = false;
  const current = () => {
    channel ??= open().then((opened) => {
      const state = { channel: opened, closed: false };
      opened.on('error', () => {}); // surfaced through the confirm callbacks
      opened.on('close', () => {
        state.closed = true;
        channel = undefined;
      });
      return state;
    });
    return channel;
  };
  const publishOne = (state: { channel: ConfirmChannel; closed: boolean }, message: OutboundMessage) =>
    new Promise<void>((resolve, reject) => {
      if (state.closed) {
        reject(new Error('publisher channel closed before the broker confirmed'));
        return;
      }
      state.channel.publish(
        message.exchange,
        message.routingKey,
        message.body,
        {
          persistent: true,
          messageId: message.messageId,
          contentType: message.contentType ?? 'application/json',
          type: message.type,
          headers: message.headers,
          timestamp: Math.floor(Date.now() / 1000),
        },
        (error: unknown) =>
          error ? reject(new Error(`broker refused a message: ${String(error)}`)) : resolve(),
      );
    });
  return {
    async publish(messages) {
      if (stopped) throw new Error('publisher is closed');
      const state = await current();
      // publish() returns false when the socket buffer is full; the confirms pace us anyway.
      await Promise.all(messages.map((message) => publishOne(state, message)));
    },
    async close() {
      stopped = true;
      const state = await channel?.catch(() => undefined);
      if (state && !state.closed) await state.channel.close().catch(() => {});
    },
  };
}

async function subscribe(
  channel: Channel,
  queue: string,
  prefetch: number,
  onDelivery: (delivery: Delivery) => void,
  onLost?: (error: Error) => void,
): Promise<Subscription> {
  let closed = false;
  const raw = new Map<number, ConsumeMessage>();
  channel.on('error', () => {});
  channel.on('close', () => {
    if (!closed) onLost?.(new Error(`channel consuming ${queue} closed`));
    closed = true;
  });
  await channel.prefetch(prefetch);
  const { consumerTag } = await channel.consume(
    queue,
    (message) => {
      if (message === null) {
        onLost?.(new Error(`the broker cancelled the consumer of ${queue} (queue deleted?)`));
        return;
      }
      raw.set(message.fields.deliveryTag, message);
      onDelivery(toDelivery(message));
    },
    { noAck: false },
  );
  const take = (delivery: Delivery, upTo: boolean): ConsumeMessage | undefined => {
    const message = raw.get(delivery.tag);
    if (upTo) {
      for (const tag of raw.keys()) if (tag <= delivery.tag) raw.delete(tag);
    } else raw.delete(delivery.tag);
    return message;
  };
  return {
    ack(delivery, upTo = false) {
      const message = take(delivery, upTo);
      if (message && !closed) channel.ack(message, upTo);
    },
    requeue(delivery) {
      const message = take(delivery, false);
      if (message && !closed) channel.nack(message, false, true);
    },
    async cancel() {
      if (!closed) await channel.cancel(consumerTag).catch(() => {});
    },
    async close() {
      if (closed) return;
      closed = true;
      await channel.close().catch(() => {});
    },
  };
}

/** What core logic sees of a message taken from a queue (consumed or fetched with basic.get). */
export function toDelivery(message: Message): Delivery {
  return {
    body: message.content,
    messageId: message.properties.messageId,
    contentType: message.properties.contentType,
    headers: message.properties.headers,
    redelivered: message.fields.redelivered,
    tag: message.fields.deliveryTag,
  };
}
