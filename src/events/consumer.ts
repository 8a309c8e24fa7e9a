import { type AuditRow, recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { ModelCatalog } from '../models/catalog.js';
import { admitEvents, type EventDecision, type EventOutcome } from '../object-events/admission.js';
import { type BatchedConsumer, type BatchSettings, createBatchedConsumer } from '../ops/batched-consumer.js';
import type { Delivery, MessageBus } from '../queue/bus.js';
import { type MalformedRecord, parseEventMessage } from './parse.js';

/** Batching as for signed jobs, byte budget included; events are decided one batch at a time. */
export type EventConsumerSettings = Omit<BatchSettings, 'batchesInFlight'>;

export interface EventConsumerOptions {
  readonly bus: MessageBus;
  readonly queue: string;
  readonly db: Database;
  readonly settings: EventConsumerSettings;
  readonly catalog: ModelCatalog;
  readonly log: Logger;
  /** A batch committed and was acked; `decisions` says what became of each object event. */
  readonly onCommitted?: (decisions: readonly EventDecision[], malformed: number, seconds: number) => void;
  /** The consumer's channel died on a bus that does not reconnect by itself. */
  readonly onLost?: (error: Error) => void;
  readonly now?: () => Date;
}

export type EventConsumer = BatchedConsumer;

export type EventCounts = Partial<Record<EventOutcome | 'malformed', number>>;

interface Settled {
  readonly decisions: readonly EventDecision[];
  readonly malformed: number;
}

/**
 * Consumes S3 event notifications in batches (batched-consumer.ts, one batch at a time): parse
 * (pure), then ONE transaction that writes the jobs, tasks, dedupe rows, audit rows and result
 * events of the whole batch; acked only after it commits. A message that breaks its transaction
 * every time is audited as malformed and acked alone, so it cannot block the queue.
 */
export function createEventConsumer(options: EventConsumerOptions): EventConsumer {
  const { settings, log, db } = options;
  const now = options.now ?? (() => new Date());

  async function decideAndCommit(batch: readonly Delivery[]): Promise<Settled> {
    const at = now();
    const parsed = batch.map((delivery) => ({ delivery, message: parseEventMessage(delivery.body) }));
    const events = parsed.flatMap((p) => p.message.events);
    const malformed = parsed.flatMap(({ delivery, message }) =>
      message.malformed.map((record) => malformedAudit(delivery, record, at)),
    );
    const decisions = await db.transaction(async (tx) => {
      const decided = await admitEvents(tx, events, { now: at, catalog: options.catalog });
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

  async function refuseUnstorable(delivery: Delivery, error: unknown): Promise<Settled> {
    log.error({ err: error }, 'an S3 event message could not be stored; dropping it');
    const record = { problems: [`could not be stored: ${String(error).slice(0, 300)}`] };
    await db.transaction((tx) => recordAudit(tx, [malformedAudit(delivery, record, now())]));
    return { decisions: [], malformed: 1 };
  }

  return createBatchedConsumer({
    bus: options.bus,
    queue: options.queue,
    // One at a time: two batches holding the same object's event would race on its dedupe row.
    settings: { ...settings, batchesInFlight: 1 },
    log,
    onLost: options.onLost,
    noun: 'event batch',
    commit: decideAndCommit,
    refuse: refuseUnstorable,
    onSettled(results, seconds) {
      const decisions = results.flatMap((result) => result.decisions);
      const malformed = results.reduce((sum, result) => sum + result.malformed, 0);
      options.onCommitted?.(decisions, malformed, seconds);
    },
  });
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
