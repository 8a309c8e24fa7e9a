import { itemFailedWebhookSchema, jobCompletedWebhookSchema } from '../contracts/webhook-event.js';

// The signed webhooks in the OpenAPI document (3.1's top-level `webhooks`): what ClearCut POSTs to
// a tenant's endpoint (docs/webhooks.md). src/api/openapi.ts adds them with their schemas.

export const webhookSchemas = {
  JobCompletedWebhook: [jobCompletedWebhookSchema, 'output'],
  ItemFailedWebhook: [itemFailedWebhookSchema, 'output'],
} as const;

const header = (name: string, description: string) => ({
  name,
  in: 'header',
  required: true,
  description,
  schema: { type: 'string' },
});

const signed = [
  header('webhook-id', "The event's id: the same on every attempt, and the eventId of the result event"),
  header('webhook-timestamp', 'Seconds since 1970 (UTC) of this attempt'),
  header(
    'webhook-signature',
    'Space-separated v1,<base64 HMAC-SHA256 of "id.timestamp.body"> entries (two during a secret rotation)',
  ),
];

function operation(summary: string, schema: keyof typeof webhookSchemas) {
  return {
    post: {
      summary,
      description:
        'Signed per the Standard Webhooks specification; any 2xx within the timeout is a success, anything else is retried (docs/webhooks.md).',
      parameters: signed,
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
      },
      responses: { '2XX': { description: 'Received' } },
    },
  };
}

export const webhookOperations = {
  'job.completed': operation('A job ended: its counts and the results manifest', 'JobCompletedWebhook'),
  'item.failed': operation('An item of a job failed: its source and error', 'ItemFailedWebhook'),
};
