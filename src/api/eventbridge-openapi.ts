// POST /v1/events/s3 and the secret-based client authentication of POST /oauth/token in the
// OpenAPI document (src/api/openapi.ts adds them; EventAnswer and Problem are its components).

import { json } from './openapi-parts.js';

const answer = (description: string) => ({ description, ...json('EventAnswer') });
const problem = (description: string) => ({ description, ...json('Problem', 'application/problem+json') });

export const eventsS3Path = {
  post: {
    summary: 'An Amazon S3 event from an EventBridge API destination (docs/events.md)',
    description:
      'One EventBridge event per request, as Amazon S3 sends it ("Object Created" acts; other detail-types are answered 200 and ignored). Only trigger rules of the token\'s tenant act. EventBridge retries 429 and 5xx, never other 4xx.',
    security: [{ bearer: [] }],
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'detail'],
            properties: {
              id: { type: 'string' },
              'detail-type': { type: 'string', examples: ['Object Created'] },
              source: { const: 'aws.s3' },
              detail: {
                type: 'object',
                description:
                  'bucket.name, object.key (as stored, not URL-encoded), object.etag, object.size, object.sequencer, reason',
              },
            },
          },
        },
      },
    },
    responses: {
      200: answer('Decided without a new job: a repeated event, or ignored (the reason is in detail)'),
      202: answer('Admitted: one job per matching trigger rule'),
      401: problem('No valid bearer token (EventBridge then fetches a new one)'),
      403: problem('Not an events:write token, or a rule job refused for good (forbidden_location)'),
      415: problem('Not application/json'),
      422: problem(
        'Not an EventBridge S3 event (invalid_body with the problem list), or a rule job refused for good',
      ),
      429: problem("A rule job over its tenant's quota or rate; Retry-After says when a retry can succeed"),
    },
  },
};

/** The client authentication of an event-source key's connection: client_secret_basic. */
export const clientSecretBasic = {
  type: 'http',
  scheme: 'basic',
  description:
    'client_secret_basic at POST /oauth/token, for event-source keys only: the key id as user, its secret as password.',
};
