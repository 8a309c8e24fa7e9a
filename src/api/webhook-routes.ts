import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { z } from 'zod';
import type { Database } from '../db/database.js';
import { contentTypePattern } from '../signing/headers.js';
import {
  addWebhookEndpoint,
  removeWebhookEndpoint,
  type TargetPolicy,
  WebhookAdminError,
} from '../webhooks/endpoint-admin.js';
import {
  getWebhookEndpoint,
  listWebhookEndpoints,
  recentWebhookDeliveries,
  type WebhookEndpoint,
} from '../webhooks/store.js';
import type { AuthOptions } from './authenticate.js';
import { bodyOf, principalOf } from './authenticate.js';
import type { Answer } from './contracts.js';
import { ProblemError, problem } from './problems.js';
import {
  newWebhookSchema,
  type webhookCreatedSchema,
  type webhookDeliveryListSchema,
  type webhookEndpointSchema,
  type webhookListSchema,
} from './webhook-contracts.js';

// /v1/webhooks: a tenant lists, adds and removes its own webhook endpoints and reads their
// delivery log, with the same checks as `clearcut webhooks` (URL shape, every resolved address).
// Reads need webhooks:read, changes webhooks:write: a token made to submit jobs cannot send the
// tenant's events to a new address. Another tenant's endpoint is 404, like an unknown one.

export interface WebhookRouteDeps {
  readonly db: Database;
  readonly masterKey: Buffer;
  readonly webhookPolicy: TargetPolicy;
  readonly authenticate: (options: AuthOptions) => preHandlerAsyncHookHandler;
}

const iso = (time: Date | null) => time?.toISOString() ?? null;

function wire(endpoint: WebhookEndpoint): Answer<typeof webhookEndpointSchema> {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: [...endpoint.events],
    enabled: endpoint.enabled,
    createdAt: endpoint.createdAt.toISOString(),
    disabledAt: iso(endpoint.disabledAt),
    disabledReason: endpoint.disabledReason,
    failingSince: iso(endpoint.failingSince),
    previousSecretUntil: iso(endpoint.previousSecretUntil),
  };
}

function parseNew(body: Buffer): z.output<typeof newWebhookSchema> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProblemError(
      problem('invalid_body', 'the body is not JSON: expected {"url": "https://…", "events": [...]}'),
    );
  }
  const parsed = newWebhookSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`,
    );
    throw new ProblemError(problem('invalid_body', 'the webhook is not valid', { problems }));
  }
  return parsed.data;
}

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): void {
  const notFound = (id: string) =>
    new ProblemError(problem('not_found', `there is no webhook endpoint ${id.slice(0, 40)}`));
  const ownEndpoint = async (tenantId: string, id: string) => {
    const endpoint = await getWebhookEndpoint(deps.db, id, { tenantId });
    if (!endpoint) throw notFound(id);
    return endpoint;
  };

  app.get(
    '/v1/webhooks',
    { preHandler: deps.authenticate({ scope: 'webhooks:read' }) },
    async (request): Promise<Answer<typeof webhookListSchema>> => {
      const endpoints = await listWebhookEndpoints(deps.db, { tenantId: principalOf(request).tenantId });
      return { endpoints: endpoints.map(wire) };
    },
  );

  app.post(
    '/v1/webhooks',
    { preHandler: deps.authenticate({ scope: 'webhooks:write' }) },
    async (request, reply): Promise<Answer<typeof webhookCreatedSchema>> => {
      if (!contentTypePattern.test(request.headers['content-type'] ?? '')) {
        throw new ProblemError(
          problem('unsupported_media_type', 'a webhook is sent as Content-Type: application/json'),
        );
      }
      const input = parseNew(bodyOf(request));
      const { tenantId, keyId } = principalOf(request);
      try {
        const { endpoint, secret } = await addWebhookEndpoint(
          deps.db,
          deps.masterKey,
          deps.webhookPolicy,
          { tenantId, url: input.url, events: input.events ?? ['job.completed', 'item.failed'] },
          { actor: { source: 'api', keyId } },
        );
        reply.code(201).header('location', `/v1/webhooks/${endpoint.id}`);
        return { ...wire(endpoint), secret };
      } catch (error) {
        if (error instanceof WebhookAdminError)
          throw new ProblemError(problem('invalid_body', error.message));
        throw error;
      }
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    { preHandler: deps.authenticate({ scope: 'webhooks:write' }) },
    async (request, reply) => {
      const { tenantId, keyId } = principalOf(request);
      await ownEndpoint(tenantId, request.params.id);
      await removeWebhookEndpoint(deps.db, request.params.id, { source: 'api', keyId });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/v1/webhooks/:id/deliveries',
    { preHandler: deps.authenticate({ scope: 'webhooks:read' }) },
    async (request): Promise<Answer<typeof webhookDeliveryListSchema>> => {
      const { tenantId } = principalOf(request);
      const limit = request.query.limit ?? '20';
      if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 100) {
        throw new ProblemError(
          problem('invalid_request', `limit "${limit.slice(0, 20)}" is not a whole number from 1 to 100`),
        );
      }
      await ownEndpoint(tenantId, request.params.id);
      const deliveries = await recentWebhookDeliveries(deps.db, {
        tenantId,
        endpointId: request.params.id,
        limit: Number(limit),
      });
      return {
        deliveries: deliveries.map(({ endpointId: _e, tenantId: _t, ...delivery }) => ({
          ...delivery,
          nextAttemptAt: iso(delivery.nextAttemptAt),
          createdAt: delivery.createdAt.toISOString(),
          finishedAt: iso(delivery.finishedAt),
          log: delivery.log.map((attempt) => ({
            ...attempt,
            attemptedAt: attempt.attemptedAt.toISOString(),
          })),
        })),
      };
    },
  );
}
