import { type AuditRow, recordAudit } from '../audit/audit.js';
import type { Queryable } from '../db/database.js';
import { enqueueEvents, type OutboxEvent } from '../jobs/outbox.js';
import { acceptedEvent, rejectedEvent } from '../jobs/result-events.js';
import type { Decided } from './decisions.js';

/** Audit rows and result events for a decided batch, in the admission transaction. */
export async function recordDecisions(tx: Queryable, batch: readonly Decided[], at: Date): Promise<void> {
  const audit: AuditRow[] = [];
  const events: OutboxEvent[] = [];
  for (const { sender, decision } of batch) {
    if (decision.outcome === 'redelivered') continue; // decided, audited and announced the first time
    const who = { tenantId: sender.tenantId, keyId: sender.keyId, messageId: sender.messageId };
    if (decision.outcome === 'accepted') {
      const { job } = decision;
      audit.push({
        ...who,
        at,
        source: 'job',
        outcome: 'accepted',
        detail: job.items === null ? 'listing' : `${job.items} items`,
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
    const { rejection } = decision;
    audit.push({
      ...who,
      at,
      source: 'job',
      outcome: rejection.reason === 'duplicate' ? 'duplicate' : 'rejected',
      reason: rejection.reason,
      detail: rejection.message,
    });
    events.push(
      rejectedEvent(
        {
          tenant: sender.tenantId ?? null,
          jobId: sender.messageId ?? null,
          keyId: sender.keyId ?? null,
          reason: rejection.reason,
          message: rejection.message.slice(0, 2000),
          ...(rejection.problems ? { problems: rejection.problems.map((p) => p.slice(0, 1000)) } : {}),
          ...(rejection.retryAfterSeconds === undefined
            ? {}
            : { retryAfterSeconds: rejection.retryAfterSeconds }),
        },
        at,
      ),
    );
  }
  await recordAudit(tx, audit);
  await enqueueEvents(tx, events);
}
