import { admitBatch } from '../admission/admit.js';
import { reject } from '../admission/decision.js';
import { nonceLedger } from '../admission/nonces.js';
import { type RefusalBudget, recordRefusals } from '../admission/refusals.js';
import type { Database } from '../db/database.js';
import type { JobForTasks } from '../jobs/task-queue.js';
import type { SigningKey } from '../keys/signing-key.js';
import type { Logger } from '../log.js';
import type { ModelCatalog } from '../models/catalog.js';
import { type BatchedConsumer, type BatchSettings, createBatchedConsumer } from '../ops/batched-consumer.js';
import type { Delivery, MessageBus } from '../queue/bus.js';
import type { Decided } from './decisions.js';
import type { GatewayMetrics } from './metrics.js';
import { admissionRequest, refusalOf } from './requests.js';
import { readableMessageId, screenDelivery } from './screen.js';

export interface JobConsumerSettings extends BatchSettings {
  readonly timestampWindowMs: number;
  readonly maxBodyBytes: number;
}

export interface JobConsumerOptions {
  readonly bus: MessageBus;
  readonly queue: string;
  readonly db: Database;
  readonly getKey: (keyId: string) => Promise<SigningKey | undefined>;
  readonly settings: JobConsumerSettings;
  readonly catalog: ModelCatalog;
  /** How many unverified messages are audited one by one per interval (then counted). */
  readonly refusals: RefusalBudget;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** A batch committed with admitted jobs: the dispatcher and relay have work. */
  readonly onCommitted: (batch: readonly Decided[]) => void;
  /** Hears the jobs of each batch that committed, as the dispatcher reads them back. */
  readonly onJobsAdmitted?: (jobs: readonly JobForTasks[]) => void;
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
    const verified = screened.flatMap((s) => (s.verified ? [s] : []));
    let jobs: readonly JobForTasks[] = [];
    const decided = await options.db.transaction(async (tx) => {
      const admitted = await admitBatch(
        tx,
        verified.map((v) => admissionRequest(v, settings.timestampWindowMs)),
        {
          now: at,
          catalog: options.catalog,
          nonces: nonceLedger,
          onAdmitted: (inserted) => {
            jobs = inserted;
          },
        },
      );
      const refused = screened.flatMap((s) => (s.verified ? [] : [s]));
      await recordRefusals(tx, refused.map(refusalOf), at, options.refusals);
      const decisions = new Map(verified.map((v, index) => [v.delivery, admitted[index]!]));
      return screened.map(
        (s): Decided => ({
          delivery: s.delivery,
          sender: s.sender,
          decision: s.verified ? decisions.get(s.delivery)! : s.decision,
        }),
      );
    });
    options.onJobsAdmitted?.(jobs);
    return decided;
  }

  /** The one message that breaks its transaction every time is rejected, so it cannot block the queue. */
  async function refuseUnstorable(delivery: Delivery, error: unknown): Promise<Decided[]> {
    log.error({ err: error }, 'a job message could not be stored; rejecting it');
    const decided = {
      delivery,
      sender: { messageId: readableMessageId(delivery.messageId) },
      decision: reject('invalid_body', 'the gateway could not store this job; check its contents'),
    };
    await options.db.transaction((tx) => recordRefusals(tx, [refusalOf(decided)], now(), options.refusals));
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
