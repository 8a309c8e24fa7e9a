import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import {
  type ResumableSubscription,
  resumableSubscription,
  type SubscriptionHost,
} from './amqp-subscription.js';
import { declareTopology } from './amqp-topology.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import type { MessageBus, OutboundMessage, Publisher } from './bus.js';
import type { Declarations } from './topology.js';

export interface AmqpBusOptions {
  /** Shown in the broker's management UI, so an operator can tell processes apart. */
  readonly connectionName: string;
  /** Declared on every new connection, so a broker that lost them (or a deleted queue) gets them back. */
  readonly topology?: Declarations;
  /**
   * Reconnect after the connection dies, for as long as the bus is open: wait, connect, declare the
   * topology, consume again on every subscription. Without it a lost connection is final and
   * `onConnectionLost` reports it (commands and tests, which end instead).
   */
  readonly reconnect?: { readonly backoff: BackoffPolicy; readonly log: StateLog };
  readonly onConnectionLost?: (error: Error) => void;
}

/** Where a reconnecting bus reports each state change (a pino Logger fits). */
export interface StateLog {
  warn(context: object, message: string): void;
  info(context: object, message: string): void;
}

export interface AmqpBus extends MessageBus {
  /** A plain channel for topology declarations; closed by the caller. */
  channel(): Promise<Channel>;
  /** False while the connection is down (and, with `reconnect`, being re-established). */
  readonly connected: boolean;
}

/** One connection; a confirm channel per publisher and a channel per consumer. */
export async function connectAmqpBus(url: string, options: AmqpBusOptions): Promise<AmqpBus> {
  const subscriptions = new Set<ResumableSubscription>();
  let connection: ChannelModel | undefined;
  let closing = false;
  let interruptWait = () => {};

  /** Connects, declares, re-attaches every subscription; adopts the connection only if all of that worked. */
  async function open(): Promise<void> {
    const opened = await amqp.connect(url, {
      clientProperties: { connection_name: options.connectionName },
    });
    let adopted = false;
    let diedEarly: Error | undefined;
    opened.on('error', () => {}); // 'close' follows with the same error; handled there.
    opened.on('close', (error?: Error) => {
      const cause = error ?? new Error('AMQP connection closed by the broker');
      if (adopted) lost(opened, cause);
      else diedEarly = cause;
    });
    try {
      if (options.topology) {
        const channel = await opened.createChannel();
        await declareTopology(channel, options.topology);
        await channel.close();
      }
      for (const subscription of subscriptions) await subscription.attach(opened);
      if (diedEarly) throw diedEarly;
      // Closed while this attempt was under way: it must not outlive the bus.
      if (closing) throw new Error('the bus was closed while reconnecting');
    } catch (error) {
      await opened.close().catch(() => {});
      throw error;
    }
    adopted = true;
    connection = opened;
  }

  function lost(dead: ChannelModel, error: Error) {
    if (closing || dead !== connection) return;
    connection = undefined;
    if (options.reconnect) void reconnect(options.reconnect, error);
    else options.onConnectionLost?.(error);
  }

  async function reconnect({ backoff, log }: NonNullable<AmqpBusOptions['reconnect']>, cause: Error) {
    const downSince = Date.now();
    let lastError = cause;
    for (let attempt = 0; !closing; attempt++) {
      const delayMs = backoffDelay(attempt, backoff);
      const context = { err: lastError, connection: options.connectionName, attempt, retryInMs: delayMs };
      if (attempt === 0) log.warn(context, 'broker connection lost; reconnecting');
      else log.warn(context, 'broker still unreachable; trying again');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        interruptWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (closing) return;
      try {
        await open();
        const downMs = Date.now() - downSince;
        log.info(
          {
            connection: options.connectionName,
            attempts: attempt + 1,
            downMs,
            consumers: subscriptions.size,
          },
          'broker connection restored; topology declared, consuming again',
        );
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
  }

  const live = async () => {
    if (connection) return connection;
    throw new Error('not connected to the broker (reconnecting); try again shortly');
  };

  const host: SubscriptionHost = {
    channelLost(error, onLost) {
      if (closing) return;
      if (!options.reconnect) {
        onLost?.(error);
        return;
      }
      // A dying connection closes its channels first: only a channel lost on a connection that
      // is still up (consumer cancelled, channel error) needs the connection restarted for it.
      const current = connection;
      setImmediate(() => {
        if (!current || current !== connection) return;
        options.reconnect?.log.warn(
          { err: error },
          'consumer channel lost; restarting the broker connection',
        );
        void current.close().catch(() => {});
      });
    },
    forget: (subscription) => subscriptions.delete(subscription),
  };

  await open();
  return {
    get connected() {
      return connection !== undefined;
    },
    channel: async () => (await live()).createChannel(),
    async publisher() {
      return confirmPublisher(async () => (await live()).createConfirmChannel());
    },
    async consume(queue, { onLost, ...flow }, onDelivery) {
      const subscription = resumableSubscription(host, queue, flow, onDelivery, onLost);
      await subscription.attach(await live());
      subscriptions.add(subscription);
      return subscription;
    },
    async close() {
      if (closing) return;
      closing = true;
      interruptWait();
      await connection?.close().catch(() => {});
    },
  };
}

/**
 * A confirm channel, opened on first use and again after the broker closed it (a channel error
 * such as a missing exchange closes only that channel; a lost connection closes it too).
 */
function confirmPublisher(open: () => Promise<ConfirmChannel>): Publisher {
  let channel: Promise<{ channel: ConfirmChannel; closed: boolean }> | undefined;
  let stopped = false;
  const current = () => {
    channel ??= open().then(
      (opened) => {
        const state = { channel: opened, closed: false };
        opened.on('error', () => {}); // surfaced through the confirm callbacks
        opened.on('close', () => {
          state.closed = true;
          channel = undefined;
        });
        return state;
      },
      (error: unknown) => {
        channel = undefined;
        throw error;
      },
    );
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

export { toDelivery } from './amqp-subscription.js';
