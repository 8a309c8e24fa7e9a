import { randomUUID } from 'node:crypto';
import type { QueuedResultEvent } from '../../src/webhooks/outbox.js';

/** A result event as src/jobs queues it (body and id), to hand to enqueueWebhooks. */
export function resultEvent(
  tenantId: string,
  kind: 'job.completed' | 'item.failed',
  jobId = 'job-1',
): QueuedResultEvent {
  const eventId = randomUUID();
  const fields =
    kind === 'job.completed'
      ? {
          total: 2,
          succeeded: 1,
          failed: 1,
          manifest: { bucket: 'out-bucket', key: `_clearcut/${jobId}.results.jsonl` },
        }
      : {
          taskId: `${jobId}-0`,
          item: 0,
          source: { bucket: 'in-bucket', key: 'p/1.jpg' },
          error: { code: 'not_found', message: 'no such object' },
          attempt: 1,
        };
  const body = JSON.stringify({
    version: 1,
    eventId,
    at: new Date().toISOString(),
    kind,
    tenant: tenantId,
    jobId,
    ...fields,
  });
  return { messageId: eventId, body };
}
