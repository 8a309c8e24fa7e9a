import type { Database } from '../db/database.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { Logger } from '../log.js';
import type { Delivery, MessageBus } from '../queue/bus.js';
import { type AdmissionContext, decideBatch } from './admission.js';
import { type BatchedConsumer, type BatchSettings, createBatchedConsumer } from './batched-consumer.js';
import { type Decided, reject } from './decisions.js';
import type { GatewayMetrics } from './metrics.js';
import { recordDecisions } from './record.js';
import { readableMessageId, screenDelivery } from './screen.js';

export interface JobConsumerSettings extends BatchSettings {
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

export type JobConsumer = BatchedConsumer;

/**
 * Decides job messages in batches (batched-consumer.ts): screening, then ONE transaction that
 * writes nonces, jobs, tasks, audit rows and result events; the batch is acked only after that
 * commits. A redelivered batch whose jobs were admitted is recognised and acked quietly.
 */
export function createJobConsumer(options: JobConsumerOptions): JobConsumer {
  const { settings, log } = options;
  const now = options.now ?? (() => new Date());

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

  /** The one message that breaks its transaction every time is rejected, so it cannot block the queue. */
  async function refuseUnstorable(delivery: Delivery, error: unknown): Promise<Decided[]> {
    log.error({ err: error }, 'a job message could not be stored; rejecting it');
    const decided: Decided = {
      delivery,
      sender: { messageId: readableMessageId(delivery.messageId) },
      decision: reject('invalid_body', 'the gateway could not store this job; check its contents'),
    };
    await options.db.transaction((tx) => recordDecisions(tx, [decided], now()));
    return [decided];
  }

  return createBatchedConsumer({
    bus: options.bus,
    queue: options.queue,
    settings,
    log,
    onLost: options.onLost,
    noun: 'job batch',
    commit: decideAndCommit,
    refuse: refuseUnstorable,
    onSettled(results, seconds) {
      const decided = results.flat();
      options.metrics.batchSeconds.observe(seconds);
      options.metrics.countDecisions(decided);
      options.onCommitted(decided);
    },
  });
}
