import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { sweepOnce } from '../../src/retention/retention-sweeper.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { addWebhookEndpoint } from '../../src/webhooks/endpoint-admin.js';
import { enqueueWebhooks } from '../../src/webhooks/outbox.js';
import { recentWebhookDeliveries } from '../../src/webhooks/store.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { resultEvent } from './result-events.js';

// The gateway's retention sweeper deletes finished webhook deliveries (with their attempts) after
// CLEARCUT_RETENTION_WEBHOOK_DELIVERIES, and never a pending one.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('webhook retention');
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

it('deletes finished deliveries past the retention with their attempts, keeps pending ones', async () => {
  const { endpoint } = await addWebhookEndpoint(
    db,
    requireMasterKey(environment.config.gateway.masterKey),
    { allowHttp: false, allowPrivate: false },
    { tenantId: 'acme', url: 'https://93.184.215.14/hook', events: ['job.completed'] },
  );
  const events = [1, 2, 3].map(() => resultEvent('acme', 'job.completed'));
  await db.transaction((tx) => enqueueWebhooks(tx, events));
  const ids = events.map((event) => event.messageId);
  const [oldFinished, recentFinished, oldPending] = ids;
  const retentionMs = environment.config.retention.webhookDeliveriesMs;
  await db.query(
    `UPDATE webhook_deliveries SET status = 'succeeded', attempts = 1,
       finished_at = now() - make_interval(secs => $2::double precision / 1000) - interval '1 hour'
     WHERE message_id = $1`,
    [oldFinished, retentionMs],
  );
  await db.query(
    `UPDATE webhook_deliveries SET status = 'failed', finished_at = now() WHERE message_id = $1`,
    [recentFinished],
  );
  await db.query(
    `UPDATE webhook_deliveries SET created_at = now() - interval '400 days' WHERE message_id = $1`,
    [oldPending],
  );
  await db.query(
    `INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, latency_ms)
     SELECT id, 1, now(), 200, 5 FROM webhook_deliveries WHERE message_id = $1`,
    [oldFinished],
  );
  await sweepOnce({ db, log: createLogger('silent'), retention: environment.config.retention });
  const left = await recentWebhookDeliveries(db, { tenantId: 'acme', endpointId: endpoint.id });
  expect(left.map((delivery) => delivery.messageId).sort()).toEqual([recentFinished, oldPending].sort());
  expect(await db.query('SELECT 1 FROM webhook_attempts')).toEqual([]);
});
