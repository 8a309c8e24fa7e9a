import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { RefusalBudget } from '../admission/refusals.js';
import type { DashboardDeps } from '../dashboard/deps.js';
import { dashboardPlugin } from '../dashboard/plugin.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { ModelCatalog } from '../models/catalog.js';
import { type ReadinessChecks, routeOpsRequest } from '../ops/http-server.js';
import type { TargetPolicy } from '../webhooks/endpoint-admin.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import { createAuthenticator } from './authenticate.js';
import { registerEventBridgeRoute } from './eventbridge-route.js';
import { registerJobRoutes } from './job-routes.js';
import { submitJobs } from './job-submission.js';
import { registerOAuthRoute } from './oauth-route.js';
import { renderOpenApi } from './openapi.js';
import type { GetKey } from './principal.js';
import { type Problem, ProblemError, problem, problemContentType } from './problems.js';
import { type RemoveSettings, registerRemoveRoute } from './remove-route.js';
import { createSubmissionBatcher } from './submission-batcher.js';
import { registerUsageRoute } from './usage-route.js';
import { registerWebhookRoutes } from './webhook-routes.js';

export interface ApiDeps {
  readonly db: Database;
  readonly getKey: GetKey;
  readonly tokens: AccessTokenIssuer;
  readonly catalog: ModelCatalog;
  /** The clock of timestamps, nonces and key expiry: the database's (src/admission/database-clock.ts). */
  readonly now: () => Date;
  readonly windowMs: number;
  readonly maxBodyBytes: number;
  /** Longest a client may take to send a whole request (CLEARCUT_API_REQUEST_TIMEOUT). */
  readonly requestTimeoutMs: number;
  /** Most jobs admitted in one transaction, and transactions at once (the gateway's batch settings). */
  readonly batchSize: number;
  readonly batchesInFlight: number;
  readonly issuer: string;
  readonly refusals: RefusalBudget;
  /** POST /v1/remove's staging, wait and limits; undefined when no staging bucket is set. */
  readonly remove: RemoveSettings | undefined;
  /** The dashboard's parts; without them /dashboard is not served. */
  readonly dashboard?: DashboardDeps;
  /** /v1/webhooks: the master key seals new secrets; the policy is CLEARCUT_WEBHOOKS_ALLOW_*. */
  readonly masterKey: Buffer;
  readonly webhookPolicy: TargetPolicy;
  readonly registry: Registry;
  readonly readiness: ReadinessChecks;
  readonly log: Logger;
}

const opsPaths = ['/healthz', '/readyz', '/metrics'];

/** The API's routes on a Fastify instance (not listening yet). */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    bodyLimit: deps.maxBodyBytes,
    // A slow body (or a slow client) cannot hold a connection for long: Node answers 408 and
    // closes it. Node looks for such requests only every 30 s unless told otherwise, and checks
    // none while its headers timeout (60 s by default) exceeds the request timeout.
    requestTimeout: deps.requestTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(1000, deps.requestTimeoutMs),
      headersTimeout: Math.min(60_000, deps.requestTimeoutMs),
    },
    return503OnClosing: true,
  });
  // Every body is read as bytes: a signature covers the bytes exactly as sent, and routes check types.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const answers = new Counter({
    name: 'clearcut_api_responses_total',
    help: 'HTTP API answers by route and status code.',
    labelNames: ['route', 'status'],
    registers: [deps.registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    answers.inc({ route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  // Answers sent once the server is closing end their connection: Node closes only the keep-alive
  // connections idle when the close begins, so one whose answer (a POST /v1/remove caller's 202)
  // went out a moment later held the close for up to the keep-alive timeout (72 s).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  for (const path of opsPaths) {
    app.get(path, (request, reply) => {
      reply.hijack();
      return routeOpsRequest(request.raw, reply.raw, deps);
    });
  }
  const openApi = renderOpenApi();
  app.get('/openapi.json', (_request, reply) =>
    reply.header('content-type', 'application/json').send(openApi),
  );
  const authenticate = createAuthenticator(deps);
  registerOAuthRoute(app, deps);
  const submissions = createSubmissionBatcher({
    decide: (batch) => submitJobs(batch, { db: deps.db, catalog: deps.catalog, now: deps.now() }),
    maxBatch: deps.batchSize,
    batchesInFlight: deps.batchesInFlight,
    log: deps.log,
  });
  registerJobRoutes(app, { ...deps, submissions, authenticate });
  registerUsageRoute(app, { ...deps, authenticate });
  registerWebhookRoutes(app, { ...deps, authenticate });
  const { dashboard } = deps;
  if (dashboard !== undefined) {
    app.register((scope) => dashboardPlugin(scope, dashboard), { prefix: '/dashboard' });
  }
  registerEventBridgeRoute(app, { ...deps, authenticate });
  registerRemoveRoute(app, { ...deps, authenticate });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(
      reply,
      problem('not_found', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`),
    );
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) return sendProblem(reply, error.problem);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendProblem(
        reply,
        problem(
          'body_too_large',
          `the body is larger than ${request.routeOptions.bodyLimit ?? deps.maxBodyBytes} bytes, the most this API reads here`,
        ),
      );
    }
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return sendProblem(reply, problem('invalid_request', error.message));
    }
    deps.log.error({ err: error, route: request.routeOptions.url }, 'API request failed');
    return sendProblem(
      reply,
      problem(
        'internal_error',
        'the request failed on our side; a retry with the same Idempotency-Key is safe',
      ),
    );
  });
  return app;
}

function sendProblem(reply: FastifyReply, p: Problem) {
  reply.code(p.status).header('content-type', problemContentType);
  if (p.retryAfterSeconds !== undefined) reply.header('retry-after', String(p.retryAfterSeconds));
  if (p.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.send(JSON.stringify(p));
}
