import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { createPollLoop, type PollLoop } from '../jobs/poll-loop.js';
import type { Logger } from '../log.js';
import { type RetainedTable, sweepTable } from './retention-store.js';

// Deletes rows past their retention (config CLEARCUT_RETENTION_*) from the tables that otherwise
// grow without end. Runs in every gateway; each round deletes at most one batch per table, so it
// never holds locks for long, and rounds follow each other at once while there is more to delete.

export interface RetentionSweeperOptions {
  readonly db: Database;
  readonly log: Logger;
  readonly retention: Config['retention'];
  /** Rows deleted per table per round. */
  readonly batchSize?: number;
  /** Wait between rounds once nothing is left to delete. */
  readonly idleMs?: number;
  /** The clock ages are measured against (tests pass their own). */
  readonly now?: () => Date;
  readonly onSwept?: (table: RetainedTable, count: number) => void;
}

export const retentionSweeperDefaults = { batchSize: 1000, idleMs: 60_000 } as const;

/** One round: at most one batch from each table; returns the rows deleted. */
export async function sweepOnce(options: RetentionSweeperOptions): Promise<number> {
  const { db, retention } = options;
  const now = (options.now ?? (() => new Date()))().getTime();
  const batchSize = options.batchSize ?? retentionSweeperDefaults.batchSize;
  const ages: Record<RetainedTable, number> = {
    audit_log: retention.auditMs,
    processed_events: retention.processedEventsMs,
    job_input_problems: retention.inputProblemsMs,
    webhook_deliveries: retention.webhookDeliveriesMs,
  };
  let deleted = 0;
  for (const [table, ageMs] of Object.entries(ages) as [RetainedTable, number][]) {
    const count = await sweepTable(db, table, new Date(now - ageMs), batchSize);
    if (count > 0) options.onSwept?.(table, count);
    deleted += count;
  }
  return deleted;
}

export function createRetentionSweeper(options: RetentionSweeperOptions): PollLoop {
  return createPollLoop({
    name: 'retention sweeper',
    idleMs: options.idleMs ?? retentionSweeperDefaults.idleMs,
    log: options.log,
    step: () => sweepOnce(options),
  });
}
