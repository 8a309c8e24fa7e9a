import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createTenant } from '../../src/tenants/tenants.js';
import {
  addWebhookEndpoint,
  maxEndpointsPerTenant,
  WebhookAdminError,
} from '../../src/webhooks/endpoint-admin.js';
import { listWebhookEndpoints } from '../../src/webhooks/store.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// The per-tenant endpoint limit holds when adds race (CLI and POST /v1/webhooks both call
// addWebhookEndpoint): each add counts and inserts while holding the tenant's row.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('webhook endpoint limit');
  // Enough connections that every add below runs its transaction at the same time.
  db = createDatabase({ ...environment.config.database, poolSize: 30 });
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
  await createTenant(db, 'other', 'unlimited');
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

const add = (tenantId: string, n: number) =>
  addWebhookEndpoint(
    db,
    requireMasterKey(environment.config.gateway.masterKey),
    { allowHttp: false, allowPrivate: false },
    { tenantId, url: `https://93.184.215.14/hook/${n}`, events: ['job.completed'] },
  );

it('lets exactly one of 25 concurrent adds through when a tenant has 19 endpoints', async () => {
  for (let n = 0; n < maxEndpointsPerTenant - 1; n += 1) await add('acme', n);
  const outcomes = await Promise.allSettled(Array.from({ length: 25 }, (_, n) => add('acme', 100 + n)));
  expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
  const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
  expect(refusals).toHaveLength(24);
  for (const refusal of refusals) {
    expect(refusal).toBeInstanceOf(WebhookAdminError);
    expect(refusal).toMatchObject({ code: 'too_many_endpoints' });
  }
  expect(await listWebhookEndpoints(db, { tenantId: 'acme' })).toHaveLength(maxEndpointsPerTenant);
  // Another tenant's limit is its own.
  await expect(add('other', 0)).resolves.toMatchObject({ endpoint: { tenantId: 'other' } });
});
