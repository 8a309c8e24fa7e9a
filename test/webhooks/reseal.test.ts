import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createLogger } from '../../src/log.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { addWebhookEndpoint, rotateWebhookSecret } from '../../src/webhooks/endpoint-admin.js';
import { enqueueWebhooks } from '../../src/webhooks/outbox.js';
import { recentWebhookDeliveries } from '../../src/webhooks/store.js';
import { runCli } from '../support/cli.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { untilValue } from '../support/until.js';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../support/webhook-receiver.js';
import { resultEvent } from './result-events.js';
import { deliveryRound } from './rounds.js';

// A master key rotation (`clearcut keys reseal`) moves webhook secrets with the HMAC key secrets:
// afterwards deliveries are still signed with the secrets the receivers hold.

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
let environment: TestEnvironment;
let db: Database;
let receiver: WebhookReceiver;

beforeAll(async () => {
  environment = await createTestEnvironment('webhook reseal', {
    CLEARCUT_MASTER_KEY: oldKey.toString('base64'),
    CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
    CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
  });
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await db?.close();
  await environment?.dispose();
});

it('reseals the current and the rotated-out secret in the same transaction as the key secrets', async () => {
  const policy = { allowHttp: true, allowPrivate: true };
  const added = await addWebhookEndpoint(db, oldKey, policy, {
    tenantId: 'acme',
    url: receiver.url,
    events: ['job.completed'],
  });
  const { secret } = await rotateWebhookSecret(db, oldKey, added.endpoint.id, 3_600_000);

  const run = await runCli(
    {
      ...environment.env,
      CLEARCUT_MASTER_KEY: newKey.toString('base64'),
      OLD_MASTER_KEY: oldKey.toString('base64'),
    },
    'keys',
    'reseal',
    '--from-env',
    'OLD_MASTER_KEY',
  );
  expect(run.err).toBe('');
  expect(run.out).toContain('Resealed the secrets of 1 webhook endpoints with them.');

  receiver.secrets = [secret];
  await db.transaction((tx) => enqueueWebhooks(tx, [resultEvent('acme', 'job.completed')]));
  const config = { ...environment.config.webhooks };
  const [delivery] = await untilValue(
    async () => {
      await deliveryRound({ db, masterKey: newKey, config, log: createLogger('silent') });
      const found = await recentWebhookDeliveries(db, { tenantId: 'acme' });
      return found[0]?.status === 'succeeded' && found;
    },
    { what: 'the delivery signed under the resealed secrets' },
  );
  expect(delivery!.log).toMatchObject([{ statusCode: 204 }]);
  // Both signatures survived the move: the new secret's and the rotated-out one's.
  const [request] = receiver.verified();
  expect(request!.signature!.split(' ')).toHaveLength(2);
  expect(verifySignature([added.secret], request!, request!.body)).toBeUndefined();
});
