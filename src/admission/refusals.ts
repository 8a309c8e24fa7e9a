import { type AuditRow, type AuditSource, addToAuditCount, recordAudit } from '../audit/audit.js';
import type { RejectionReason } from '../contracts/reasons.js';
import type { Queryable } from '../db/database.js';
import { enqueueEvents } from '../jobs/outbox.js';
import type { Rejection } from './decision.js';
import { rejectionAudit, rejectionEvent, storableMessage } from './record.js';

// Requests a door refused before admission. Most are refused before anyone knew who sent them
// (bad signature, unknown key, unreadable headers): anyone can send those, so they name no tenant,
// their verdict goes under `_`, never under the tenant a claimed key id belongs to, and only when
// there is a job id to route it by. A flood of them must not grow the audit log and the outbox
// without end: beyond `limit` per interval and process they get no verdict, and are counted into
// one audit row per reason and interval (its `count`) instead of one row each.

export interface Refusal {
  readonly source: AuditSource;
  /**
   * Set only when the door verified the sender (a valid signature under a revoked key, a stale
   * timestamp): then the verdict is routed under this tenant and is not counted against the budget.
   */
  readonly tenantId?: string;
  /** The job id the request carried, when it is a valid one. */
  readonly jobId?: string;
  /** The key id the request claimed (not verified). */
  readonly keyId?: string;
  readonly rejection: Rejection;
}

export interface RefusalBudget {
  readonly limit: number;
  readonly intervalMs: number;
  /** Whether one more refusal may be recorded on its own in the current interval. */
  take(): boolean;
  /** The counting audit row of `group` in the current interval. */
  counter(group: string): string | undefined;
  setCounter(group: string, id: string): void;
}

/** A fixed-window budget: `limit` refusals recorded one by one per `intervalMs`, then counted. */
export function createRefusalBudget(
  limit: number,
  intervalMs: number,
  now: () => number = Date.now,
): RefusalBudget {
  let windowStart = Number.NEGATIVE_INFINITY;
  let used = 0;
  let counters = new Map<string, string>();
  return {
    limit,
    intervalMs,
    take() {
      const time = now();
      if (time >= windowStart + intervalMs) {
        windowStart = time;
        used = 0;
        counters = new Map();
      }
      if (used >= limit) return false;
      used += 1;
      return true;
    },
    counter: (group) => counters.get(group),
    setCounter: (group, id) => {
      counters.set(group, id);
    },
  };
}

export async function recordRefusals(
  tx: Queryable,
  refusals: readonly Refusal[],
  at: Date,
  budget: RefusalBudget,
): Promise<void> {
  const audit: AuditRow[] = [];
  const events = [];
  const beyond = new Map<
    string,
    { source: AuditSource; reason: RejectionReason; count: number; first: string }
  >();
  for (const refusal of refusals) {
    const { rejection, tenantId } = refusal;
    if (tenantId === undefined && !budget.take()) {
      const group = `${refusal.source}\n${rejection.reason}`;
      const seen = beyond.get(group);
      if (seen) seen.count += 1;
      else
        beyond.set(group, {
          source: refusal.source,
          reason: rejection.reason,
          count: 1,
          first: rejection.message,
        });
      continue;
    }
    const who = {
      at,
      source: refusal.source,
      ...(tenantId === undefined ? {} : { tenantId }),
      ...(refusal.keyId === undefined ? {} : { keyId: refusal.keyId }),
      ...(refusal.jobId === undefined ? {} : { messageId: refusal.jobId }),
    };
    audit.push(rejectionAudit(who, rejection));
    // Neither a verified tenant nor a job id: nobody could be following it, and it could loop.
    if (tenantId === undefined && refusal.jobId === undefined) continue;
    events.push(
      rejectionEvent(
        { tenant: tenantId ?? null, jobId: refusal.jobId ?? null, keyId: refusal.keyId ?? null },
        rejection,
        at,
      ),
    );
  }
  await recordAudit(tx, audit);
  await enqueueEvents(tx, events);
  for (const [group, { source, reason, count, first }] of beyond) {
    const id = budget.counter(group);
    if (id !== undefined && (await addToAuditCount(tx, id, count))) continue;
    const [created] = await recordAudit(tx, [
      {
        at,
        source,
        outcome: 'rejected',
        reason,
        count,
        detail: storableMessage(
          `${count} unverified messages refused (${reason}) beyond ${budget.limit} per ${budget.intervalMs / 1000} s, counted in this row; the first said: ${first}`,
        ),
      },
    ]);
    budget.setCounter(group, created!);
  }
}
