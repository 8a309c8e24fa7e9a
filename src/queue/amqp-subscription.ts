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
  { prefetch, maxBytesInHand, maxMessageBytes, onFlow }: Omit<ConsumeOptions, 'onLost'>,
  onDelivery: (delivery: Delivery) => void,
  onLost: ((error: Error) => void) | undefined,
): ResumableSubscription {
  let channel: Channel | undefined;
  /** The consumer taking deliveries now, if any (none while paused or cancelled). */
  let current: ConsumerWindow | undefined;
  /** Every consumer of this channel that still holds deliveries, by tag. */
  const windows = new Map<string, ConsumerWindow>();
  let consumers = 0;
  let cancelled = false;
  let closed = false;
  const held = new Map<Delivery, ConsumeMessage>();
  // Byte budget: RabbitMQ has no prefetch by size, so the consumer itself stops while it holds
  // too much (what the broker had already sent still arrives) and starts again below half.
  let bytesHeld = 0;
  let paused = false;
  let widening = false;
  let qos: number | undefined;
  let flow: Promise<void> = Promise.resolve();

  // The broker may send a consumer its whole window before it can be stopped, so a window is at
  // most what the byte budget has left over in messages of the largest size the broker takes. A
  // window that has arrived in full is known in size: when its messages are small, the consumer
  // gives way to a new one whose window is the budget left over again, up to `prefetch` held in
  // all (RabbitMQ applies basic.qos only to consumers started after it). So small messages fill
  // `prefetch`, while a flood of the largest still holds at most the budget.
  const budgeted = maxBytesInHand !== undefined && maxMessageBytes !== undefined;
  const freshWindow = () =>
    budgeted
      ? Math.min(prefetch - held.size, Math.floor((maxBytesInHand - bytesHeld) / maxMessageBytes))
      : prefetch;
  const firstWindow = Math.max(1, freshWindow());
  const worthWidening = Math.ceil(firstWindow / 4);

  const consumeOn = async (opened: Channel, size: number) => {
    if (qos !== size) {
      await opened.prefetch(size);
      qos = size;
    }
    const window: ConsumerWindow = { tag: `window-${++consumers}`, size, outstanding: 0 };
    windows.set(window.tag, window);
    current = window;
    await opened.consume(
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
        const from = windows.get(message.fields.consumerTag);
        if (from) from.outstanding += 1;
        adjustFlow();
        onDelivery(delivery);
      },
      { noAck: false, consumerTag: window.tag },
    );
  };

  const stopConsuming = async (opened: Channel) => {
    const window = current;
    if (!window) return;
    current = undefined;
    if (window.outstanding === 0) windows.delete(window.tag);
    await opened.cancel(window.tag);
  };

  /** One step at a time, on the channel current when it was asked for. */
  const step = (action: (opened: Channel) => Promise<void>) => {
    const opened = channel;
    flow = flow
      .then(async () => {
        if (!opened || opened !== channel || cancelled || closed) return;
        await action(opened);
      })
      .catch(() => {}); // a channel that died meanwhile is handled by its 'close'
  };

  /** Pauses or resumes to follow the byte budget, or opens a wider window for small messages. */
  function adjustFlow() {
    if (maxBytesInHand === undefined) return;
    const wantPaused = paused ? bytesHeld > maxBytesInHand / 2 : bytesHeld >= maxBytesInHand;
    if (wantPaused !== paused) {
      paused = wantPaused;
      onFlow?.(paused, bytesHeld);
      step(async (opened) => {
        if (paused) await stopConsuming(opened);
        else if (!current) await consumeOn(opened, Math.max(1, freshWindow()));
      });
      return;
    }
    const full = current !== undefined && current.outstanding >= current.size;
    if (paused || widening || !full || !budgeted || freshWindow() < worthWidening) return;
    widening = true;
    step(async (opened) => {
      try {
        // Still full (nothing more can arrive on it) and still worth it once earlier steps ran?
        if (paused || !current || current.outstanding < current.size) return;
        const size = freshWindow();
        if (size < worthWidening) return;
        await stopConsuming(opened);
        await consumeOn(opened, size);
      } finally {
        widening = false;
      }
      // The new window may have filled before consume() resolved.
      adjustFlow();
    });
  }

  const release = (message: ConsumeMessage) => {
    bytesHeld -= message.content.length;
    const from = windows.get(message.fields.consumerTag);
    if (!from) return;
    from.outstanding -= 1;
    if (from !== current && from.outstanding === 0) windows.delete(from.tag);
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
    windows.clear();
    current = undefined;
    bytesHeld = 0;
    paused = false;
  };

  const subscription: ResumableSubscription = {
    async attach(connection) {
      forgetHeld();
      channel = undefined;
      qos = undefined;
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
      await consumeOn(opened, firstWindow);
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
      if (channel && current) await stopConsuming(channel).catch(() => {});
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

/** One basic.consume: the window (prefetch) it was started with and how many of its deliveries are held. */
interface ConsumerWindow {
  readonly tag: string;
  readonly size: number;
  outstanding: number;
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
