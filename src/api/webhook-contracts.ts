import { z } from 'zod';
import { webhookEventTypes } from '../contracts/webhook-event.js';

// The wire shapes of /v1/webhooks (a tenant managing its own webhook endpoints, docs/webhooks.md).

const instant = z.string().meta({ format: 'date-time' });
const eventTypes = z.array(z.enum(webhookEventTypes));

/** POST /v1/webhooks body. */
export const newWebhookSchema = z.strictObject({
  url: z.string().min(1).max(2048).meta({ description: 'https:// URL of your receiver' }),
  events: eventTypes.min(1).optional().meta({ description: 'Event types to send (default: all)' }),
});

export const webhookEndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: eventTypes,
  enabled: z.boolean(),
  createdAt: instant,
  disabledAt: instant.nullable(),
  disabledReason: z.string().nullable(),
  failingSince: instant.nullable(),
  previousSecretUntil: instant
    .nullable()
    .meta({ description: 'After a rotation: until when the old secret also signs' }),
});

export const webhookCreatedSchema = webhookEndpointSchema.extend({
  secret: z.string().meta({ description: 'The whsec_ signing secret; shown only in this answer' }),
});

export const webhookListSchema = z.object({ endpoints: z.array(webhookEndpointSchema) });

export const webhookDeliveryListSchema = z.object({
  deliveries: z.array(
    z.object({
      id: z.string(),
      messageId: z.string().meta({ description: 'The webhook-id header' }),
      eventType: z.enum(webhookEventTypes),
      status: z.enum(['pending', 'succeeded', 'failed']),
      attempts: z.number().int(),
      nextAttemptAt: instant.nullable(),
      createdAt: instant,
      finishedAt: instant.nullable(),
      log: z.array(
        z.object({
          attempt: z.number().int(),
          attemptedAt: instant,
          statusCode: z.number().int().nullable(),
          latencyMs: z.number().int(),
          error: z.string().nullable(),
          responseSnippet: z.string().nullable(),
        }),
      ),
    }),
  ),
});
