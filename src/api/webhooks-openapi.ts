import { itemFailedWebhookSchema, jobCompletedWebhookSchema } from '../contracts/webhook-event.js';
import { answer, component, problems, secured } from './openapi-parts.js';
import {
  newWebhookSchema,
  webhookCreatedSchema,
  webhookDeliveryListSchema,
  webhookListSchema,
} from './webhook-contracts.js';

// The signed webhooks in the OpenAPI document: what ClearCut POSTs to a tenant's endpoint (3.1's
// top-level `webhooks`) and the /v1/webhooks routes that manage endpoints (docs/webhooks.md).
// src/api/openapi.ts adds them with their schemas.

export const webhookSchemas = {
  JobCompletedWebhook: [jobCompletedWebhookSchema, 'output'],
  ItemFailedWebhook: [itemFailedWebhookSchema, 'output'],
  NewWebhook: [newWebhookSchema, 'input'],
  WebhookCreated: [webhookCreatedSchema, 'output'],
  WebhookList: [webhookListSchema, 'output'],
  WebhookDeliveryList: [webhookDeliveryListSchema, 'output'],
} as const;

const endpointId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const webhookPaths = {
  '/v1/webhooks': {
    get: {
      summary: 'Your webhook endpoints (scope webhooks:read)',
      security: secured,
      responses: { 200: answer('Endpoints', 'WebhookList'), ...problems([401, 403]) },
    },
    post: {
      summary:
        'Add a webhook endpoint; the answer holds its signing secret, shown once (scope webhooks:write)',
      security: secured,
      requestBody: { required: true, content: { 'application/json': { schema: component('NewWebhook') } } },
      responses: { 201: answer('Added', 'WebhookCreated'), ...problems([401, 403, 415, 422]) },
    },
  },
  '/v1/webhooks/{id}': {
    delete: {
      summary: 'Remove a webhook endpoint: nothing more is sent to it (scope webhooks:write)',
      security: secured,
      parameters: [endpointId],
      responses: { 204: { description: 'Removed' }, ...problems([401, 403, 404]) },
    },
  },
  '/v1/webhooks/{id}/deliveries': {
    get: {
      summary: 'The delivery log of an endpoint, newest first (scope webhooks:read)',
      security: secured,
      parameters: [
        endpointId,
        {
          name: 'limit',
          in: 'query',
          required: false,
          description: 'deliveries, 1 to 100 (default 20)',
          schema: { type: 'string' },
        },
      ],
      responses: { 200: answer('Deliveries', 'WebhookDeliveryList'), ...problems([400, 401, 403, 404]) },
    },
  },
};

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
        content: { 'application/json': { schema: component(schema) } },
      },
      responses: { '2XX': { description: 'Received' } },
    },
  };
}

export const webhookOperations = {
  'job.completed': operation('A job ended: its counts and the results manifest', 'JobCompletedWebhook'),
  'item.failed': operation('An item of a job failed: its source and error', 'ItemFailedWebhook'),
};
