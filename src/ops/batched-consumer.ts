// What the job consumer and the S3 event consumer share: deliveries gathered into batches, each
// decided in ONE transaction and acked (multiple=true) only after it commits, in delivery order.
// A crash or a lost connection before the ack redelivers the batch, which is then recognised.

import { isTransientDatabaseError } from '../db/transient-errors.js';
import { SecretBoxError } from '../keys/secret-box.js';
import type { Logger } from '../log.js';
import type { Delivery, MessageBus, Subscription } from '../queue/bus.js';
import { createBatchInbox } from './batch-inbox.js';

export interface BatchSettings {
  readonly prefetch: number;
  /** Most body bytes held unacknowledged (the broker has no prefetch by size); unset: no limit. */
  readonly prefetchBytes?: number;
  /** The largest body the broker accepts: with `prefetchBytes`, it sizes the consumer's window. */
  readonly maxMessageBytes?: number;
  readonly batchSize: number;
  readonly batchWindowMs: number;
  /** Batches decided at once; acks still go out in delivery order. */
  readonly batchesInFlight: number;
}

export interface BatchedConsumerOptions<R> {
  readonly bus: MessageBus;
  readonly queue: string;
  readonly settings: BatchSettings;
  readonly log: Logger;
  /** The consumer's channel died on a bus that does not reconnect by itself. */
  readonly onLost?: (error: Error) => void;
  /** What a batch is called in log lines ("job batch", "event batch"). */
  readonly noun: string;
  /** Decides `batch` in one transaction; throws if it did not commit. */
  readonly commit: (batch: readonly Delivery[]) => Promise<R>;
  /** The one message whose transaction fails every time: recorded as refused so it cannot block the queue. */
  readonly refuse: (delivery: Delivery, error: unknown) => Promise<R>;
  /** A batch committed (in one or, after a split, several transactions) and was acked. */
  readonly onSettled: (results: readonly R[], seconds: number) => void;
}

export interface BatchedConsumer {
  start(): Promise<void>;
  /** Stops taking messages, decides and acks those already received, closes the channel. */
  stop(): Promise<void>;
}

const retryDelaysMs = [100, 250, 500, 1000, 2000, 5000];

export function createBatchedConsumer<R>(options: BatchedConsumerOptions<R>): BatchedConsumer {
  const { log, noun, settings } = options;
  const inbox = createBatchInbox<Delivery>(settings.batchSize, settings.batchWindowMs);
  let subscription: Subscription | undefined;
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  /**
   * Commits, waiting out a database that is away or a master key that cannot open a stored secret
   * (an operator's error: the batch is held, never refused); a batch that fails otherwise is split.
   */
  async function settle(batch: readonly Delivery[]): Promise<R[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return [await options.commit(batch)];
      } catch (error) {
        const keyTrouble = error instanceof SecretBoxError;
        if (!isTransientDatabaseError(error) && !keyTrouble) {
          if (batch.length === 1) return [await options.refuse(batch[0]!, error)];
          log.warn({ err: error, size: batch.length }, `${noun} failed; deciding its messages one by one`);
          const results: R[] = [];
          for (const delivery of batch) results.push(...(await settle([delivery])));
          return results;
        }
        if (stopping) throw error;
        const delayMs = retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)]!;
        if (keyTrouble) {
          log.error(
            { err: error, attempt, delayMs },
            `CLEARCUT_MASTER_KEY cannot open a stored signing secret: holding the ${noun} (nothing is rejected) until an operator sets the right key (see \`clearcut keys reseal\`)`,
          );
        } else log.warn({ err: error, attempt, delayMs }, `database unavailable; retrying the ${noun}`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Settles a batch; on failure gives it back to the queue and resolves undefined. */
  async function decide(batch: readonly Delivery[]): Promise<R[] | undefined> {
    // Deliveries from before a reconnect are back in the queue: their copies are decided instead.
    const held = batch.filter((delivery) => subscription?.holds(delivery));
    if (held.length === 0) return [];
    try {
      return await settle(held);
    } catch (error) {
      log.error({ err: error }, `giving the undecided ${noun} back to the queue`);
      for (const delivery of held) subscription?.requeue(delivery);
      return undefined;
    }
  }

  // Several batches may be in the database at once (the process would otherwise idle while
  // PostgreSQL works), but acks go out in delivery order: a batch acks with multiple=true only
  // after every earlier batch has been acked or given back.
  async function loop() {
    let previous: Promise<void> = Promise.resolve();
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      while (inFlight.size >= settings.batchesInFlight) await Promise.race(inFlight);
      const batch = await inbox.next();
      if (batch.length === 0) break;
      const started = process.hrtime.bigint();
      const decided = decide(batch);
      const acked = Promise.all([decided, previous])
        .then(([results]) => {
          if (results === undefined) return;
          subscription?.ack(batch[batch.length - 1]!, true);
          options.onSettled(results, Number(process.hrtime.bigint() - started) / 1e9);
        })
        .catch((error: unknown) => log.error({ err: error }, `after a ${noun} committed`));
      previous = acked;
      inFlight.add(acked);
      void acked.finally(() => inFlight.delete(acked));
    }
    await Promise.all(inFlight);
  }

  return {
    async start() {
      subscription = await options.bus.consume(
        options.queue,
        {
          prefetch: settings.prefetch,
          onLost: options.onLost,
          ...(settings.prefetchBytes === undefined ? {} : { maxBytesInHand: settings.prefetchBytes }),
          ...(settings.maxMessageBytes === undefined ? {} : { maxMessageBytes: settings.maxMessageBytes }),
          onFlow: (paused, bytesHeld) =>
            paused
              ? log.warn(
                  { bytesHeld },
                  `holding ${settings.prefetchBytes} bytes of messages or more: consumption paused`,
                )
              : log.info({ bytesHeld }, 'consumption resumed'),
        },
        (delivery) => inbox.push(delivery),
      );
      running = loop();
    },
    stop() {
      stopping ??= (async () => {
        await subscription?.cancel();
        inbox.close();
        await running;
        await subscription?.close();
      })();
      return stopping;
    },
  };
}
