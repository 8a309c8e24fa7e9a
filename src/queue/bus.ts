// The message-bus contract core logic sees. Only src/queue/amqp*.ts import amqplib.

/** A message as it arrived: properties are `unknown` because anyone with publish rights chose them. */
export interface Delivery {
  readonly body: Buffer;
  readonly messageId: unknown;
  readonly contentType: unknown;
  readonly headers: unknown;
  /** Set by the broker (never by a producer): this message was delivered before and not acked. */
  readonly redelivered: boolean;
  /** Position on its channel; acking one with `upTo` acks every earlier one too. */
  readonly tag: number;
}

export interface OutboundMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly messageId?: string;
  readonly contentType?: string;
  readonly type?: string;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** Publishes persistent messages and resolves only once the broker has confirmed every one. */
export interface Publisher {
  publish(messages: readonly OutboundMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface Subscription {
  /** Acks `delivery`; with `upTo`, also every unacked delivery before it on this channel. */
  ack(delivery: Delivery, upTo?: boolean): void;
  /**
   * False once the channel `delivery` came on has closed (a lost connection): the broker has put it
   * back and will deliver it again, so deciding it now would only do the work twice.
   */
  holds(delivery: Delivery): boolean;
  /** Gives a delivery back to the queue (the broker redelivers it with `redelivered` set). */
  requeue(delivery: Delivery): void;
  /** Stops new deliveries; those already received may still be acked. */
  cancel(): Promise<void>;
  /** Closes the channel: every unacked delivery returns to the queue. */
  close(): Promise<void>;
}

export interface ConsumeOptions {
  readonly prefetch: number;
  /**
   * Most body bytes held unacknowledged: past it the consumer stops taking deliveries (basic.cancel)
   * and consumes again once acks brought the held bytes down to half. Unset: only `prefetch` bounds.
   */
  readonly maxBytesInHand?: number;
  /**
   * The largest body the broker accepts. With `maxBytesInHand`, the consumer's window (what the
   * broker may send before it can be stopped) is the budget left over in messages this large, and
   * `prefetch` bounds the deliveries held in all: small messages fill `prefetch`.
   */
  readonly maxMessageBytes?: number;
  /** Hears each pause (true) and resume (false) that the byte budget causes, with the bytes held. */
  readonly onFlow?: (paused: boolean, bytesHeld: number) => void;
  /**
   * Called when the broker cancels the consumer or the channel dies, on a bus that does not
   * reconnect by itself; the owner should stop.
   */
  readonly onLost?: (error: Error) => void;
}

export interface MessageBus {
  publisher(): Promise<Publisher>;
  consume(
    queue: string,
    options: ConsumeOptions,
    onDelivery: (delivery: Delivery) => void,
  ): Promise<Subscription>;
  close(): Promise<void>;
}
