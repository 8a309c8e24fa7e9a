import { z } from 'zod';
import { jobSchema } from '../contracts/job.js';
import { renditionSchema } from '../contracts/renditions.js';
import {
  eventAnswerSchema,
  itemListSchema,
  jobAcceptedSchema,
  jobListSchema,
  jobStatusSchema,
  oauthErrorSchema,
  problemSchema,
  tokenResponseSchema,
  usageSchema,
} from './contracts.js';
import { clientSecretBasic, eventsS3Path } from './eventbridge-openapi.js';
import { answer, jobIdSchema, json, problems, query, secured } from './openapi-parts.js';
import { removePath } from './remove-openapi.js';
import { webhookOperations, webhookPaths, webhookSchemas } from './webhooks-openapi.js';

// OpenAPI 3.1 description of the API, generated from the zod contracts; served at /openapi.json
// and checked in as docs/openapi.json (`npx tsx infra/dev/openapi.ts` rewrites it).

const schemas = {
  Job: [jobSchema, 'input'],
  JobAccepted: [jobAcceptedSchema, 'output'],
  JobStatus: [jobStatusSchema, 'output'],
  JobList: [jobListSchema, 'output'],
  ItemList: [itemListSchema, 'output'],
  Usage: [usageSchema, 'output'],
  Problem: [problemSchema, 'output'],
  TokenResponse: [tokenResponseSchema, 'output'],
  OAuthError: [oauthErrorSchema, 'output'],
  EventAnswer: [eventAnswerSchema, 'output'],
  Rendition: [renditionSchema, 'input'],
  ...webhookSchemas,
} as const;
export type ApiSchemaName = keyof typeof schemas;

const idPath = { name: 'id', in: 'path', required: true, schema: jobIdSchema };
const page = [
  query('cursor', 'nextCursor of the previous page'),
  query('limit', 'entries per page, 1 to 100 (default 100)'),
];

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'ClearCut HTTP API',
      version: '1',
      description:
        'Signed requests (cc-* headers) or OAuth 2.0 bearer tokens; see docs/api.md and docs/protocol.md section 9.',
    },
    paths: {
      '/oauth/token': {
        post: {
          summary:
            'Client credentials: an RFC 7523 JWT assertion (signing keys), or the secret of an event-source key (client_secret_basic or client_secret_post)',
          security: [{}, { clientSecretBasic: [] }],
          requestBody: {
            required: true,
            content: {
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['grant_type'],
                  properties: {
                    grant_type: { const: 'client_credentials' },
                    client_assertion_type: {
                      const: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                    },
                    client_assertion: { type: 'string' },
                    scope: { type: 'string' },
                    client_id: { type: 'string' },
                    client_secret: {
                      type: 'string',
                      description: 'client_secret_post: the secret of an event-source key (with client_id)',
                    },
                  },
                },
              },
            },
          },
          responses: {
            200: answer('An access token', 'TokenResponse'),
            400: answer('A bad request', 'OAuthError'),
            401: answer('The client could not be authenticated', 'OAuthError'),
          },
        },
      },
      '/v1/jobs': {
        post: {
          summary: 'Submit a job',
          security: secured,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: true,
              description: 'The job id',
              schema: jobIdSchema,
            },
          ],
          requestBody: { required: true, ...json('Job') },
          responses: {
            202: answer('Admitted (or a retry of an admitted job)', 'JobAccepted'),
            ...problems([400, 401, 403, 409, 413, 415, 422, 429]),
          },
        },
        get: {
          summary: 'List your jobs, newest first',
          security: secured,
          parameters: [
            query('state', 'only jobs in this state', ['expanding', 'running', 'completed']),
            ...page,
          ],
          responses: {
            200: answer('A page of jobs', 'JobList'),
            ...problems([400, 401, 403]),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          summary: "A job's progress and results manifest",
          security: secured,
          parameters: [idPath],
          responses: { 200: answer('The job', 'JobStatus'), ...problems([401, 403, 404]) },
        },
      },
      '/v1/jobs/{id}/items': {
        get: {
          summary: "A job's items, page by page",
          security: secured,
          parameters: [
            idPath,
            query('status', 'only items with this status', ['pending', 'queued', 'succeeded', 'failed']),
            ...page,
          ],
          responses: {
            200: answer('A page of items', 'ItemList'),
            ...problems([400, 401, 403, 404]),
          },
        },
      },
      '/v1/events/s3': eventsS3Path,
      '/v1/remove': removePath,
      ...webhookPaths,
      '/v1/usage': {
        get: {
          summary: 'Your quota windows and job token bucket',
          security: secured,
          responses: { 200: answer('Usage', 'Usage'), ...problems([401, 403]) },
        },
      },
    },
    webhooks: webhookOperations,
    components: {
      schemas: Object.fromEntries(
        Object.entries(schemas).map(([name, [schema, io]]) => [name, componentSchema(name, schema, io)]),
      ),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        clientSecretBasic,
        signedRequest: {
          type: 'apiKey',
          in: 'header',
          name: 'cc-signature',
          description:
            'With cc-key-id, cc-timestamp and cc-nonce, over the HTTP canonical string (docs/protocol.md section 9).',
        },
      },
    },
  };
}

/** A schema at its place in the document: its local `#/$defs/…` refs point there. */
function componentSchema(name: string, schema: z.ZodType, io: 'input' | 'output'): unknown {
  const { $schema: _, ...body } = z.toJSONSchema(schema, { target: 'draft-2020-12', io }) as Record<
    string,
    unknown
  >;
  return JSON.parse(JSON.stringify(body).replaceAll('"$ref":"#/', `"$ref":"#/components/schemas/${name}/`));
}

export function renderOpenApi(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
