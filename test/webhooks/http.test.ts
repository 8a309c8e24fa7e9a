import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiService, startApi } from '../../src/api/service.js';
import {
  webhookCreatedSchema,
  webhookDeliveryListSchema,
  webhookListSchema,
} from '../../src/api/webhook-contracts.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { decodeSigningSecret } from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { enqueueWebhooks } from '../../src/webhooks/outbox.js';
import { accessToken, signedFetch, type TestKey } from '../api/harness.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { untilValue } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { resultEvent } from './result-events.js';

// /v1/webhooks over plain HTTP (signed requests and a bearer token) against a real API process in
// this test: a tenant adds, lists, reads the delivery log of, and removes its own endpoints; the
// same URL and address rules as the CLI; another tenant's endpoint does not exist for it.

let environment: TestEnvironment;
let db: Database;
let api: ApiService;
let base: string;
let receiver: WebhookReceiver;
const keys: Record<string, TestKey> = {};

beforeAll(async () => {
  environment = await createTestEnvironment('webhooks http', {
    CLEARCUT_API_PORT: '0',
    CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
    CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
    CLEARCUT_WEBHOOKS_POLL_INTERVAL: '50ms',
  });
  db = createDatabase(environment.config.database);
  await migrate(db);
  const masterKey = requireMasterKey(environment.config.gateway.masterKey);
  for (const tenantId of ['acme', 'globex']) {
    await createTenant(db, tenantId, 'unlimited');
    const created = await createKey(db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'test',
      expiresAt: null,
    });
    keys[tenantId] = { keyId: created.key.keyId, tenantId, secret: decodeSigningSecret(created.shownOnce) };
  }
  api = await startApi(environment.config, { log: createLogger('silent') });
  base = `http://127.0.0.1:${api.port}`;
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await api?.stop();
  await receiver?.close();
  await db?.close();
  await environment?.dispose();
});

const post = (tenant: string, body: unknown) =>
  signedFetch(base, keys[tenant]!, { method: 'POST', path: '/v1/webhooks', body: JSON.stringify(body) });

describe('/v1/webhooks', () => {
  it('adds an endpoint with its secret once, lists it without, delivers to it and shows the log', async () => {
    const added = await post('acme', { url: receiver.url, events: ['job.completed'] });
    expect(added.status, await added.clone().text()).toBe(201);
    const endpoint = webhookCreatedSchema.parse(await added.json());
    expect(endpoint).toMatchObject({ url: receiver.url, events: ['job.completed'], enabled: true });
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(added.headers.get('location')).toBe(`/v1/webhooks/${endpoint.id}`);
    receiver.secrets = [endpoint.secret];

    const listed = webhookListSchema.parse(
      await (await signedFetch(base, keys.acme!, { path: '/v1/webhooks' })).json(),
    );
    expect(listed.endpoints.map((e) => e.id)).toEqual([endpoint.id]);
    expect(JSON.stringify(listed)).not.toContain(endpoint.secret.slice(6));
    const [audit] = await db.query<{ source: string; key_id: string }>(
      `SELECT source, key_id FROM audit_log WHERE outcome = 'webhook.added'`,
    );
    expect(audit).toEqual({ source: 'api', key_id: keys.acme!.keyId });

    // The API process's own delivery loop sends it.
    await db.transaction((tx) => enqueueWebhooks(tx, [resultEvent('acme', 'job.completed')]));
    const log = await untilValue(
      async () => {
        const answer = await signedFetch(base, keys.acme!, {
          path: `/v1/webhooks/${endpoint.id}/deliveries`,
        });
        const { deliveries } = webhookDeliveryListSchema.parse(await answer.json());
        return deliveries[0]?.status === 'succeeded' && deliveries;
      },
      { what: 'the delivery in the log' },
    );
    expect(log[0]!.log).toMatchObject([{ attempt: 1, statusCode: 204 }]);
    expect(receiver.verified()).toHaveLength(1);

    const removed = await signedFetch(base, keys.acme!, {
      method: 'DELETE',
      path: `/v1/webhooks/${endpoint.id}`,
    });
    expect(removed.status).toBe(204);
    const after = await signedFetch(base, keys.acme!, { path: '/v1/webhooks' });
    expect(await after.json()).toEqual({ endpoints: [] });
  });

  it("hides another tenant's endpoint", async () => {
    const added = webhookCreatedSchema.parse(await (await post('acme', { url: receiver.url })).json());
    for (const call of [
      { method: 'DELETE', path: `/v1/webhooks/${added.id}` },
      { path: `/v1/webhooks/${added.id}/deliveries` },
    ]) {
      const answer = await signedFetch(base, keys.globex!, call);
      expect(answer.status).toBe(404);
      expect(await answer.json()).toMatchObject({ reason: 'not_found' });
    }
    expect(await (await signedFetch(base, keys.globex!, { path: '/v1/webhooks' })).json()).toEqual({
      endpoints: [],
    });
  });

  it('refuses what the CLI refuses, with a problem', async () => {
    const metadata = await post('acme', { url: 'http://169.254.169.254/latest' });
    expect(metadata.status).toBe(422);
    expect(await metadata.json()).toMatchObject({
      reason: 'invalid_body',
      detail: 'refused: 169.254.169.254 is a cloud metadata address',
    });
    const shape = await post('acme', { url: receiver.url, events: ['job.started'], extra: 1 });
    expect(shape.status).toBe(422);
    expect(((await shape.json()) as { problems: string[] }).problems).toHaveLength(2);
    const notJson = await signedFetch(base, keys.acme!, {
      method: 'POST',
      path: '/v1/webhooks',
      body: 'url=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(notJson.status).toBe(415);
    const limit = await signedFetch(base, keys.acme!, { path: '/v1/webhooks/wh_x/deliveries?limit=1000' });
    expect(limit.status).toBe(400);
  });

  it('needs webhooks:write to add or remove, webhooks:read to list: job scopes are not enough', async () => {
    const jobsOnly = await accessToken(base, keys.acme!, 'jobs:write jobs:read');
    const asJobs = (path: string, init: RequestInit = {}) =>
      fetch(`${base}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${jobsOnly}`, 'content-type': 'application/json' },
      });
    const add = await asJobs('/v1/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url }) });
    expect(add.status).toBe(403);
    expect(await add.json()).toMatchObject({ reason: 'insufficient_scope' });
    expect((await asJobs('/v1/webhooks')).status).toBe(403);
    expect((await asJobs('/v1/webhooks/wh_x', { method: 'DELETE' })).status).toBe(403);
    expect((await asJobs('/v1/webhooks/wh_x/deliveries')).status).toBe(403);

    const readOnly = await accessToken(base, keys.acme!, 'webhooks:read');
    const headers = { authorization: `Bearer ${readOnly}`, 'content-type': 'application/json' };
    const refused = await fetch(`${base}/v1/webhooks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: receiver.url }),
    });
    expect(refused.status).toBe(403);
    expect((await fetch(`${base}/v1/webhooks`, { headers })).status).toBe(200);

    const full = await accessToken(base, keys.acme!);
    const added = await fetch(`${base}/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${full}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: string };
    const removed = await fetch(`${base}/v1/webhooks/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${full}` },
    });
    expect(removed.status).toBe(204);
  });
});
