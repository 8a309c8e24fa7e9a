import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { Job } from '../contracts/job.js';
import type {
  acceptedEventSchema,
  itemFailedEventSchema,
  itemSucceededEventSchema,
  jobCompletedEventSchema,
  ResultKind,
  rejectedEventSchema,
} from '../contracts/result-event.js';
import { resultRoutingKey } from '../queue/topology.js';
import type { OutboxEvent } from './outbox.js';

// Result events as outbox rows. The event id is random but stored with the row, so every
// publication of one row (a relay crash publishes it again) carries the same id.

type Body<S extends z.ZodType> = Omit<z.input<S>, 'version' | 'eventId' | 'at' | 'kind'>;

function event(
  kind: ResultKind,
  tenant: string | null,
  jobId: string | null,
  at: Date,
  fields: object,
): OutboxEvent {
  const eventId = randomUUID();
  return {
    routingKey: resultRoutingKey(tenant ?? undefined, jobId ?? undefined, kind),
    messageId: eventId,
    body: JSON.stringify({ version: 1, eventId, at: at.toISOString(), kind, ...fields }),
  };
}

export function acceptedEvent(body: Body<typeof acceptedEventSchema>, at: Date): OutboxEvent {
  return event('accepted', body.tenant, body.jobId, at, body);
}

export function rejectedEvent(body: Body<typeof rejectedEventSchema>, at: Date): OutboxEvent {
  return event('rejected', body.tenant, body.jobId, at, body);
}

export function itemSucceededEvent(body: Body<typeof itemSucceededEventSchema>, at: Date): OutboxEvent {
  return event('item.succeeded', body.tenant, body.jobId, at, body);
}

export function itemFailedEvent(body: Body<typeof itemFailedEventSchema>, at: Date): OutboxEvent {
  return event('item.failed', body.tenant, body.jobId, at, body);
}

export function jobCompletedEvent(body: Body<typeof jobCompletedEventSchema>, at: Date): OutboxEvent {
  return event('job.completed', body.tenant, body.jobId, at, body);
}

/** The producer's metadata, echoed in every event about its job. */
export function metadataOf(spec: Pick<Job, 'metadata'> | undefined): { metadata?: Job['metadata'] } {
  return spec?.metadata === undefined ? {} : { metadata: spec.metadata };
}
