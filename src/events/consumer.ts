import { type AuditRow, recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import { createBatchInbox } from '../gateway/batch-inbox.js';
import { isTransientDatabaseError } from '../gateway/database-errors.js';
import type { PlanContext } from '../gateway/job-plan.js';
import type { Logger } from '../log.js';
import type { Delivery, MessageBus, Subscription } from '../queue/bus.js';
import { admitEvents, type EventDecision, type EventOutcome } from './admission.js';
import { type MalformedRecord, parseEventMessage } from './parse.js';

export interface EventConsumerSettings extends PlanContext {
  readonly prefetch: number;
  readonly batchSize: number;
  readonly batchWindowMs: number;
}

export interface EventConsumerOptions {
  readonly bus: MessageBus;
  readonly queue: string;
  readonly db: Database;
  readonly settings: EventConsumerSettings;
  readonly log: Logger;
  /** A batch committed; `decisions` says what became of each object event. */
  readonly onCommitted?: (decisions: readonly EventDecision[], malformed: number) => void;
  /** The consumer's channel died on a bus that does not reconnect by itself. */
  readonly onLost?: (error: Error) => void;
  readonly now?: () => Date;
}

export interface EventConsumer {
  start(): Promise<void>;
  /** Stops taking messages, decides and acks those already received, closes the channel. */
  stop(): Promise<void>;
}

export type EventCounts = Partial<Record<EventOutcome | 'malformed', number>>;

const retryDelaysMs = [100, 250, 500, 1000, 2000, 5000];

/**
 * Consumes S3 event notifications in batches: parse (pure), then ONE transaction that writes the
 * jobs, tasks, dedupe rows, audit rows and result events of the whole batch; the batch is acked
 * (multiple=true) only after it commits. A message that breaks its transaction every time is
 * audited as malformed and acked alone, so it cannot block the queue or crash the process.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { settings, log, db } = options;
  const now = options.now ?? (() => new Date());
  const inbox = createBatchInbox<Delivery>(settings.batchSize, settings.batchWindowMs);
  let subscription: Subscription | undefined;
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  async function decideAndCommit(batch: readonly Delivery[]) {
    const at = now();
    const parsed = batch.map((delivery) => ({ delivery, message: parseEventMessage(delivery.body) }));
    const events = parsed.flatMap((p) => p.message.events);
    const malformed = parsed.flatMap(({ delivery, message }) =>
      message.malformed.map((record) => malformedAudit(delivery, record, at)),
    );
    const decisions = await db.transaction(async (tx) => {
      const decided = await admitEvents(tx, events, { ...settings, now: at });
      await recordAudit(tx, malformed);
      return decided;
    });
    for (const row of malformed)
      log.warn({ messageId: row.messageId, detail: row.detail }, 'malformed S3 event');
    for (const d of decisions) {
      log.debug(
        { bucket: d.event.bucket, key: d.event.key, outcome: d.outcome, jobs: d.jobs.map((j) => j.jobId) },
        'S3 event decided',
      );
    }
    return { decisions, malformed: malformed.length };
  }

  async function settle(batch: readonly Delivery[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { decisions, malformed } = await decideAndCommit(batch);
        options.onCommitted?.(decisions, malformed);
        return;
      } catch (error) {
        if (!isTransientDatabaseError(error)) {
          if (batch.length > 1) {
            log.warn(
              { err: error, size: batch.length },
              'event batch failed; deciding its messages one by one',
            );
            for (const delivery of batch) await settle([delivery]);
            return;
          }
          await refuseUnstorable(batch[0]!, error);
          return;
        }
        if (stopping) throw error;
        const delay = retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)]!;
        log.warn({ err: error, attempt, delayMs: delay }, 'database unavailable; retrying the event batch');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async function refuseUnstorable(delivery: Delivery, error: unknown) {
    log.error({ err: error }, 'an S3 event message could not be stored; dropping it');
    const record = { problems: [`could not be stored: ${String(error).slice(0, 300)}`] };
    await db.transaction((tx) => recordAudit(tx, [malformedAudit(delivery, record, now())]));
    options.onCommitted?.([], 1);
  }

  async function loop() {
    for (;;) {
      const batch = await inbox.next();
      if (batch.length === 0) return;
      // Deliveries from before a reconnect are back in the queue: their copies are decided instead.
      const held = batch.filter((delivery) => subscription?.holds(delivery));
      try {
        if (held.length > 0) await settle(held);
        subscription?.ack(batch[batch.length - 1]!, true);
      } catch (error) {
        log.error({ err: error }, 'giving the undecided event batch back to the queue');
        for (const delivery of batch) subscription?.requeue(delivery);
      }
    }
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

/** Counts of a committed batch by outcome, for logs and metrics. */
export function countOutcomes(decisions: readonly EventDecision[], malformed: number): EventCounts {
  const counts: EventCounts = malformed > 0 ? { malformed } : {};
  for (const { outcome } of decisions) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

function malformedAudit(delivery: Delivery, record: MalformedRecord, at: Date): AuditRow {
  const where = record.bucket ? ` (s3://${record.bucket}/${record.key ?? '?'})` : '';
  const id = typeof delivery.messageId === 'string' ? delivery.messageId.slice(0, 200) : undefined;
  return {
    at,
    source: 'event',
    outcome: 'rejected',
    reason: 'invalid_body',
    ...(id === undefined ? {} : { messageId: id }),
    detail:
      `${record.index === undefined ? 'message' : `record ${record.index}`}${where}: ${record.problems.join('; ')}`.slice(
        0,
        2000,
      ),
  };
}
