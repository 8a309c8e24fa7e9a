import { admitBatch } from '../admission/admit.js';
import { reject } from '../admission/decision.js';
import { nonceLedger } from '../admission/nonces.js';
import { type RefusalBudget, recordRefusals } from '../admission/refusals.js';
import type { Database } from '../db/database.js';
import { jobRefKey } from '../jobs/job-store.js';
import type { ClaimedEvent } from '../jobs/outbox.js';
import type { HandOff } from '../jobs/publishing.js';
import type { JobForTasks, ReleasedTask } from '../jobs/task-queue.js';
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
  /**
   * A batch committed and was acked: the dispatcher and relay may have work, but for the tasks and
   * events `handOff` took (counted in `handedOff`).
   */
  readonly onCommitted: (batch: readonly Decided[], handedOff: { tasks: number; events: number }) => void;
  /** Publishes what admission released and leased to this gateway, after each commit. */
  readonly handOff?: Pick<HandOff, 'release' | 'publish'>;
  /** Hears the jobs of each batch that committed, as the dispatcher reads them back. */
  readonly onJobsAdmitted?: (jobs: readonly JobForTasks[]) => void;
  /** The consumer's channel died on a bus that does not reconnect by itself. */
  readonly onLost?: (error: Error) => void;
  readonly now?: () => Date;
}

export type JobConsumer = BatchedConsumer;

interface Committed {
  readonly decided: Decided[];
  readonly handedOff: { tasks: number; events: number };
}

/**
 * Decides job messages in batches (batched-consumer.ts): screening, then ONE transaction that
 * writes nonces, jobs, tasks, audit rows and result events; the batch is acked only after that
 * commits. A redelivered batch whose jobs were admitted is recognised and acked quietly.
 */
export function createJobConsumer(options: JobConsumerOptions): JobConsumer {
  const { settings, log } = options;
  const now = options.now ?? (() => new Date());

  async function decideAndCommit(batch: readonly Delivery[]): Promise<Committed> {
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
    let released: readonly ReleasedTask[] = [];
    let leased: readonly ClaimedEvent[] = [];
    const release = options.handOff?.release();
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
          ...(release
            ? {
                release,
                onReleased: (tasks, events) => {
                  released = tasks;
                  leased = events;
                },
              }
            : {}),
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
    if (released.length > 0 || leased.length > 0) {
      const byRef = new Map(jobs.map((job) => [jobRefKey(job), job]));
      options.handOff!.publish(
        released.map((task) => [task, byRef.get(jobRefKey(task))!] as const),
        leased,
      );
    }
    return { decided, handedOff: { tasks: released.length, events: leased.length } };
  }

  /** The one message that breaks its transaction every time is rejected, so it cannot block the queue. */
  async function refuseUnstorable(delivery: Delivery, error: unknown): Promise<Committed> {
    log.error({ err: error }, 'a job message could not be stored; rejecting it');
    const decided = {
      delivery,
      sender: { messageId: readableMessageId(delivery.messageId) },
      decision: reject('invalid_body', 'the gateway could not store this job; check its contents'),
    };
    await options.db.transaction((tx) => recordRefusals(tx, [refusalOf(decided)], now(), options.refusals));
    return { decided: [decided], handedOff: { tasks: 0, events: 0 } };
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
      const decided = results.flatMap((result) => result.decided);
      options.metrics.batchSeconds.observe(seconds);
      options.metrics.countDecisions(decided);
      const sum = (pick: (handedOff: Committed['handedOff']) => number) =>
        results.reduce((total, result) => total + pick(result.handedOff), 0);
      options.onCommitted(decided, { tasks: sum((h) => h.tasks), events: sum((h) => h.events) });
    },
  });
}
