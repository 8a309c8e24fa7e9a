import { type AuditRow, type AuditSource, recordAudit } from '../audit/audit.js';
import type { RejectionReason } from '../contracts/reasons.js';
import type { Queryable } from '../db/database.js';
import { enqueueEvents } from '../jobs/outbox.js';
import type { Rejection } from './decision.js';
import { rejectionAudit, rejectionEvent } from './record.js';

// Requests a door refused before it knew who sent them (bad signature, unknown key, unreadable
// headers, ...). Anyone can send those, so they name no tenant: the verdict goes under `_`, never
// under the tenant a claimed key id belongs to, and only when there is a job id to route it by.
// A flood of them must not grow the audit log and the outbox without end: beyond `limit` per
// interval and process, they are counted into one audit row per reason and batch instead.

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
  /** Whether one more refusal may be recorded on its own in the current interval. */
  take(): boolean;
  readonly limit: number;
  readonly intervalMs: number;
}

/** A fixed-window budget: `limit` refusals recorded one by one per `intervalMs`. */
export function createRefusalBudget(
  limit: number,
  intervalMs: number,
  now: () => number = Date.now,
): RefusalBudget {
  let windowStart = Number.NEGATIVE_INFINITY;
  let used = 0;
  return {
    limit,
    intervalMs,
    take() {
      const time = now();
      if (time >= windowStart + intervalMs) {
        windowStart = time;
        used = 0;
      }
      if (used >= limit) return false;
      used += 1;
      return true;
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
      const key = `${refusal.source}\n${rejection.reason}`;
      const seen = beyond.get(key);
      if (seen) seen.count += 1;
      else
        beyond.set(key, {
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
  for (const { source, reason, count, first } of beyond.values()) {
    audit.push({
      at,
      source,
      outcome: 'rejected',
      reason,
      detail:
        `${count} unverified messages refused (${reason}) beyond ${budget.limit} per ${budget.intervalMs / 1000} s, counted here instead of one row each; the first said: ${first}`.slice(
          0,
          2000,
        ),
    });
  }
  await recordAudit(tx, audit);
  await enqueueEvents(tx, events);
}
