import { createKey } from '../../src/keys/key-admin.js';
import type { ApiHarness } from './harness.js';

// Amazon EventBridge as an API destination talks to us: the "Object Created" example event of the
// Amazon S3 User Guide ("EventBridge event message structure"), and an event-source key whose id
// and secret a connection sends to POST /oauth/token.

/** The User Guide's example, verbatim (its bucket name is reserved for documentation: see inBucket). */
export const objectCreatedExample = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::amzn-s3-demo-bucket1'],
  detail: {
    version: '0',
    bucket: { name: 'amzn-s3-demo-bucket1' },
    object: {
      key: 'example-key',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '617f08299329d189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
};

/** The example in a bucket a rule may name (S3 reserves amzn-s3-demo- for documentation). */
export function inBucket(bucket: string): typeof objectCreatedExample {
  return {
    ...objectCreatedExample,
    resources: [`arn:aws:s3:::${bucket}`],
    detail: { ...objectCreatedExample.detail, bucket: { name: bucket } },
  };
}

/** The example for another object: a new event id, key and etag (a new version). */
export function objectCreated(object: { key: string; bucket: string; etag?: string; id?: string }) {
  return {
    ...objectCreatedExample,
    id: object.id ?? crypto.randomUUID(),
    resources: [`arn:aws:s3:::${object.bucket}`],
    detail: {
      ...objectCreatedExample.detail,
      bucket: { name: object.bucket },
      object: {
        ...objectCreatedExample.detail.object,
        key: object.key,
        etag: object.etag ?? crypto.randomUUID().replaceAll('-', ''),
      },
    },
  };
}

export interface EventSourceKey {
  readonly clientId: string;
  readonly clientSecret: string;
}

export async function eventSourceKey(
  h: Pick<ApiHarness, 'db' | 'masterKey'>,
  tenantId: string,
): Promise<EventSourceKey> {
  const created = await createKey(h.db, h.masterKey, {
    tenantId,
    purpose: 'event-source',
    algorithm: 'hmac-sha256',
    environment: 'test',
    expiresAt: null,
  });
  return { clientId: created.key.keyId, clientSecret: created.shownOnce };
}

/** The token request of an EventBridge OAUTH_CLIENT_CREDENTIALS connection (client_secret_basic). */
export function basicTokenRequest(
  base: string,
  client: EventSourceKey,
  body = 'grant_type=client_credentials',
) {
  const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

export async function eventToken(base: string, client: EventSourceKey): Promise<string> {
  const response = await basicTokenRequest(base, client);
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** What an API destination sends: the event as the body, the connection's bearer token. */
export function postEvent(
  base: string,
  token: string,
  event: unknown,
  contentType = 'application/json; charset=utf-8',
) {
  return fetch(`${base}/v1/events/s3`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: typeof event === 'string' ? event : JSON.stringify(event),
  });
}
