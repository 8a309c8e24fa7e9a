import type { Database } from '../db/database.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { Logger } from '../log.js';
import type { Delivery, MessageBus, Subscription } from '../queue/bus.js';
import { type AdmissionContext, decideBatch } from './admission.js';
import { createBatchInbox } from './batch-inbox.js';
import { isTransientDatabaseError } from './database-errors.js';
import { type Decided, reject } from './decisions.js';
import type { GatewayMetrics } from './metrics.js';
import { recordDecisions } from './record.js';
import { readableMessageId, screenDelivery } from './screen.js';

export interface JobConsumerSettings {
  readonly prefetch: number;
  readonly batchSize: number;
  readonly batchWindowMs: number;
  /** Batches decided at once; acks still go out in delivery order. */
  readonly batchesInFlight: number;
  readonly timestampWindowMs: number;
  readonly maxBodyBytes: number;
  readonly defaultModel: string;
  readonly knownModels?: ReadonlySet<string>;
}

export interface JobConsumerOptions {
  readonly bus: MessageBus;
  readonly queue: string;
  readonly db: Database;
  readonly getKey: (keyId: string) => Promise<SigningKey | undefined>;
  readonly settings: JobConsumerSettings;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** A batch committed with admitted jobs: the dispatcher and relay have work. */
  readonly onCommitted: (batch: readonly Decided[]) => void;
  /** The consumer's channel died on a bus that does not reconnect by itself. */
  readonly onLost?: (error: Error) => void;
  readonly now?: () => Date;
}

export interface JobConsumer {
  start(): Promise<void>;
  /** Stops taking messages, decides and acks those already received, closes the channel. */
  stop(): Promise<void>;
}

const retryDelaysMs = [100, 250, 500, 1000, 2000, 5000];

/**
 * Decides job messages in batches: screening, then ONE transaction that writes nonces, jobs, tasks,
 * audit rows and result events; the batch is acked only after that commits (one ack with
 * multiple=true). A crash before the ack redelivers the batch, which is then recognised.
 */
export function createJobConsumer(options: JobConsumerOptions): JobConsumer {
  const { settings, log } = options;
  const now = options.now ?? (() => new Date());
  const inbox = createBatchInbox<Delivery>(settings.batchSize, settings.batchWindowMs);
  let subscription: Subscription | undefined;
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function decideAndCommit(batch: readonly Delivery[]): Promise<Decided[]> {
    const at = now();
    const screened = await Promise.all(
      batch.map((delivery) =>
        screenDelivery(delivery, {
          getKey: options.getKey,
          now: at,
          windowMs: settings.timestampWindowMs,
          maxBodyBytes: settings.maxBodyBytes,
        }),
      ),
    );
    const context: AdmissionContext = { ...settings, now: at, windowMs: settings.timestampWindowMs };
    return options.db.transaction(async (tx) => {
      const decided = await decideBatch(tx, screened, context);
      await recordDecisions(tx, decided, at);
      return decided;
    });
  }

  /** A batch whose transaction fails for a reason other than the database being away is split. */
  async function settle(batch: readonly Delivery[]): Promise<Decided[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await decideAndCommit(batch);
      } catch (error) {
        if (!isTransientDatabaseError(error)) {
          if (batch.length > 1) {
            log.warn({ err: error, size: batch.length }, 'batch failed; deciding its messages one by one');
            const decided: Decided[] = [];
            for (const delivery of batch) decided.push(...(await settle([delivery])));
            return decided;
          }
          return [await refuseUnstorable(batch[0]!, error)];
        }
        const delay = retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)]!;
        log.warn({ err: error, attempt, delayMs: delay }, 'database unavailable; retrying the batch');
        if (stopping) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** The one message that breaks its transaction every time is rejected, so it cannot block the queue. */
  async function refuseUnstorable(delivery: Delivery, error: unknown): Promise<Decided> {
    log.error({ err: error }, 'a job message could not be stored; rejecting it');
    const decided: Decided = {
      delivery,
      sender: { messageId: readableMessageId(delivery.messageId) },
      decision: reject('invalid_body', 'the gateway could not store this job; check its contents'),
    };
    await options.db.transaction((tx) => recordDecisions(tx, [decided], now()));
    return decided;
  }

  /** Decides a batch; on failure gives it back to the queue and resolves undefined. */
  async function decide(batch: readonly Delivery[]): Promise<Decided[] | undefined> {
    // Deliveries from before a reconnect are back in the queue: their copies are decided instead.
    const held = batch.filter((delivery) => subscription?.holds(delivery));
    if (held.length === 0) return [];
    try {
      return await settle(held);
    } catch (error) {
      log.error({ err: error }, 'giving the undecided batch back to the queue');
      for (const delivery of batch) subscription?.requeue(delivery);
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
        .then(([result]) => {
          if (result === undefined) return;
          subscription?.ack(batch[batch.length - 1]!, true);
          options.metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
          options.metrics.countDecisions(result);
          options.onCommitted(result);
        })
        .catch((error: unknown) => log.error({ err: error }, 'after a batch committed'));
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
        { prefetch: settings.prefetch, onLost: options.onLost },
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
