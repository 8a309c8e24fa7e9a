import { z } from 'zod';
import { itemFailedEventSchema, jobCompletedEventSchema } from './result-event.js';

// The JSON body of a webhook (docs/webhooks.md), shaped as the Standard Webhooks specification
// recommends: {type, timestamp, data}. `data` holds the same fields as the result event of that
// kind on the results exchange, so a producer reads one vocabulary whichever way it listens.
// Receivers must ignore fields they do not know: new optional fields may be added.

export const webhookEventTypes = ['job.completed', 'item.failed'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

const envelope = {
  timestamp: z.iso.datetime().describe("When the event happened (UTC, ISO 8601); the result event's `at`"),
};
const resultOnly = { version: true, eventId: true, at: true, kind: true } as const;

export const jobCompletedWebhookSchema = z.object({
  type: z.literal('job.completed'),
  ...envelope,
  data: jobCompletedEventSchema.omit(resultOnly),
});

export const itemFailedWebhookSchema = z.object({
  type: z.literal('item.failed'),
  ...envelope,
  data: itemFailedEventSchema.omit(resultOnly),
});

export const webhookEventSchema = z.discriminatedUnion('type', [
  jobCompletedWebhookSchema,
  itemFailedWebhookSchema,
]);
export type WebhookEvent = z.output<typeof webhookEventSchema>;
