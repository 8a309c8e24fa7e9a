import { setTimeout as sleep } from 'node:timers/promises';
import type { Queryable } from '../db/database.js';
import { type ItemRow, listItems } from '../jobs/job-pages.js';

// POST /v1/remove waits for its one item by reading the task row with backoff: any number of API
// processes can wait side by side, each costing one indexed read per step, and no wait outlasts
// its deadline. (The worker ends the row in the transaction that makes the result durable.)

const firstStepMs = 20;
/** A finished item is seen up to one step late; 32 waits (the default concurrency) read 320 rows/s at most. */
const longestStepMs = 100;

export type ItemOutcome = ItemRow & { readonly status: 'succeeded' | 'failed' };

/**
 * The job's item once it has succeeded or failed; undefined when `waitMs` passes first or the
 * caller goes away (`signal`).
 */
export async function waitForItem(
  q: Queryable,
  ref: { readonly tenantId: string; readonly jobId: string },
  waitMs: number,
  signal: AbortSignal,
): Promise<ItemOutcome | undefined> {
  const deadline = performance.now() + waitMs;
  for (let step = firstStepMs; ; step = Math.min(step * 2, longestStepMs)) {
    const [item] = (await listItems(q, ref, { limit: 1 })).entries;
    if (item?.status === 'succeeded' || item?.status === 'failed') return item as ItemOutcome;
    const left = deadline - performance.now();
    if (left <= 0 || signal.aborted) return undefined;
    try {
      await sleep(Math.min(step, left), undefined, { signal });
    } catch {
      return undefined; // the caller went away
    }
  }
}
