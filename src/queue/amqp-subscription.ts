// One consumer of a queue on a channel of its own, that can move to a new connection after a
// lost one, and that holds at most a byte budget of unacknowledged bodies.
import type { Channel, ChannelModel, ConsumeMessage, Message } from 'amqplib';
import type { ConsumeOptions, Delivery, Subscription } from './bus.js';

/** What a subscription needs from the bus it belongs to. */
export interface SubscriptionHost {
  /** The subscription's channel closed while the connection may still be up. */
  channelLost(error: Error, onLost: ((error: Error) => void) | undefined): void;
  forget(subscription: ResumableSubscription): void;
}

export interface ResumableSubscription extends Subscription {
  /** Consumes again on a new connection; deliveries held from the old one become unackable. */
  attach(connection: ChannelModel): Promise<void>;
}

/**
 * A consumer that can move to a new connection. Deliveries are remembered per channel: once the
 * channel they came on has closed, acking or requeueing them does nothing (the broker has already
 * put them back and will deliver them again), so a stale ack never lands on a new channel's tag.
 */
export function resumableSubscription(
  host: SubscriptionHost,
  queue: string,
  { prefetch, maxBytesInHand, onFlow }: Omit<ConsumeOptions, 'onLost'>,
  onDelivery: (delivery: Delivery) => void,
  onLost: ((error: Error) => void) | undefined,
): ResumableSubscription {
  let channel: Channel | undefined;
  let consumerTag: string | undefined;
  let cancelled = false;
  let closed = false;
  const held = new Map<Delivery, ConsumeMessage>();
  // Byte budget: RabbitMQ has no prefetch by size, so the consumer itself stops while it holds
  // too much (what the broker had already sent still arrives) and starts again below half.
  let bytesHeld = 0;
  let paused = false;
  let flow: Promise<void> = Promise.resolve();

  const consumeOn = async (opened: Channel) => {
    ({ consumerTag } = await opened.consume(
      queue,
      (message) => {
        if (message === null) {
          host.channelLost(
            new Error(`the broker cancelled the consumer of ${queue} (queue deleted?)`),
            onLost,
          );
          return;
        }
        const delivery = toDelivery(message);
        held.set(delivery, message);
        bytesHeld += message.content.length;
        adjustFlow();
        onDelivery(delivery);
      },
      { noAck: false },
    ));
  };

  /** Pauses or resumes to follow the byte budget; one step at a time, on the current channel. */
  function adjustFlow() {
    if (maxBytesInHand === undefined) return;
    const wantPaused = paused ? bytesHeld > maxBytesInHand / 2 : bytesHeld >= maxBytesInHand;
    if (wantPaused === paused) return;
    paused = wantPaused;
    onFlow?.(paused, bytesHeld);
    const opened = channel;
    flow = flow
      .then(async () => {
        if (!opened || opened !== channel || cancelled || closed) return;
        if (paused && consumerTag) {
          const tag = consumerTag;
          consumerTag = undefined;
          await opened.cancel(tag);
        } else if (!paused && !consumerTag) await consumeOn(opened);
      })
      .catch(() => {}); // a channel that died meanwhile is handled by its 'close'
  }

  const release = (message: ConsumeMessage) => {
    bytesHeld -= message.content.length;
  };

  const take = (delivery: Delivery, upTo: boolean) => {
    const message = held.get(delivery);
    if (!message) return undefined;
    if (upTo) {
      const tag = message.fields.deliveryTag;
      for (const [earlier, raw] of held) {
        if (raw.fields.deliveryTag > tag) continue;
        held.delete(earlier);
        release(raw);
      }
    } else {
      held.delete(delivery);
      release(message);
    }
    adjustFlow();
    return message;
  };

  const forgetHeld = () => {
    held.clear();
    bytesHeld = 0;
    paused = false;
  };

  const subscription: ResumableSubscription = {
    async attach(connection) {
      forgetHeld();
      channel = undefined;
      consumerTag = undefined;
      if (cancelled || closed) return;
      const opened = await connection.createChannel();
      // Set before consuming: a delivery may be acked before consume() resolves.
      channel = opened;
      opened.on('error', () => {});
      opened.on('close', () => {
        if (channel !== opened) return;
        channel = undefined;
        forgetHeld();
        host.channelLost(new Error(`channel consuming ${queue} closed`), onLost);
      });
      await opened.prefetch(prefetch);
      await consumeOn(opened);
    },
    holds: (delivery) => held.has(delivery),
    ack(delivery, upTo = false) {
      const message = take(delivery, upTo);
      if (message && channel) channel.ack(message, upTo);
    },
    requeue(delivery) {
      const message = take(delivery, false);
      if (message && channel) channel.nack(message, false, true);
    },
    async cancel() {
      cancelled = true;
      await flow;
      if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => {});
    },
    async close() {
      if (closed) return;
      closed = true;
      host.forget(subscription);
      const open = channel;
      channel = undefined;
      forgetHeld();
      await open?.close().catch(() => {});
    },
  };
  return subscription;
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
