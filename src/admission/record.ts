import { type AuditRow, recordAudit } from '../audit/audit.js';
import type { Job } from '../contracts/job.js';
import { storableText } from '../contracts/storable-text.js';
import type { Queryable } from '../db/database.js';
import { type ClaimedEvent, enqueueEvents, type OutboxEvent } from '../jobs/outbox.js';
import { acceptedEvent, rejectedEvent } from '../jobs/result-events.js';
import type { Decision, Rejection } from './decision.js';
import type { AdmissionRequest } from './request.js';

// Audit rows and result events of admission decisions, in the admission transaction. Verified
// requests only: their verdicts are routed under their tenant (`<tenant>.<job id>.<event>`).
// Messages no door could verify are recorded by refusals.ts, never under a tenant.

const maxMessageChars = 2000;
const maxProblemChars = 1000;

export async function recordDecisions(
  tx: Queryable,
  decided: readonly {
    readonly request: AdmissionRequest;
    readonly decision: Decision;
    /** The job's metadata when its body could be read: echoed in a `rejected` event too. */
    readonly metadata?: Job['metadata'];
  }[],
  at: Date,
  /** Leases the result events to the caller, who publishes them after the commit (outbox.ts). */
  leaseMs?: number,
): Promise<ClaimedEvent[]> {
  const audit: AuditRow[] = [];
  const events: OutboxEvent[] = [];
  for (const { request, decision, metadata } of decided) {
    if (decision.outcome === 'redelivered') continue; // decided, audited and announced the first time
    const who = {
      at,
      tenantId: request.tenantId,
      ...(request.keyId === null ? {} : { keyId: request.keyId }),
      messageId: request.jobId,
      source: request.origin.source,
    };
    const about = (text: string) => (request.origin.context ? `${request.origin.context}: ${text}` : text);
    if (decision.outcome === 'accepted') {
      const { job } = decision;
      audit.push({
        ...who,
        outcome: 'accepted',
        detail: about(job.items === null ? 'listing' : `${job.items} items`),
      });
      events.push(
        acceptedEvent(
          {
            tenant: job.tenantId,
            jobId: job.jobId,
            keyId: job.keyId,
            items: job.items,
            model: job.model,
            ...(job.metadata === undefined ? {} : { metadata: job.metadata }),
          },
          at,
        ),
      );
      continue;
    }
    const rejection = { ...decision.rejection, message: about(decision.rejection.message) };
    audit.push(rejectionAudit(who, rejection));
    events.push(
      rejectionEvent(
        {
          tenant: request.tenantId,
          jobId: request.jobId,
          keyId: request.keyId,
          ...(metadata === undefined ? {} : { metadata }),
        },
        rejection,
        at,
      ),
    );
  }
  await recordAudit(tx, audit);
  return enqueueEvents(tx, events, leaseMs);
}

/** The audit row of a rejection, verified or not. */
export function rejectionAudit(
  who: Omit<AuditRow, 'outcome' | 'reason' | 'detail'>,
  rejection: Rejection,
): AuditRow {
  return {
    ...who,
    outcome: rejection.reason === 'duplicate' ? 'duplicate' : 'rejected',
    reason: rejection.reason,
    detail: storableMessage(rejection.message),
  };
}

/** A rejection message may quote the producer's bytes: escaped where PostgreSQL could not store it. */
export function storableMessage(message: string): string {
  const { text, note } = storableText(message);
  return (note === undefined ? text : `${text} (${note})`).slice(0, maxMessageChars);
}

/** The `rejected` result event of a rejection; `tenant` null routes it under `_`. */
export function rejectionEvent(
  to: {
    readonly tenant: string | null;
    readonly jobId: string | null;
    readonly keyId: string | null;
    readonly metadata?: Job['metadata'];
  },
  rejection: Rejection,
  at: Date,
): OutboxEvent {
  return rejectedEvent(
    {
      ...to,
      reason: rejection.reason,
      message: storableMessage(rejection.message),
      ...(rejection.problems
        ? { problems: rejection.problems.map((p) => storableText(p).text.slice(0, maxProblemChars)) }
        : {}),
      ...(rejection.retryAfterSeconds === undefined
        ? {}
        : { retryAfterSeconds: rejection.retryAfterSeconds }),
    },
    at,
  );
}
