import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { resultEventSchema } from '../../src/contracts/result-event.js';
import { webhookEventSchema } from '../../src/contracts/webhook-event.js';
import { completeTask, type TaskOutcome } from '../../src/jobs/task-completion.js';
import { releaseTasks } from '../../src/jobs/task-queue.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { addWebhookEndpoint } from '../../src/webhooks/endpoint-admin.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';

// docs/protocol.md §6: every result event about a job echoes the producer's metadata. Item events
// are built by completeTask from the job row it updates; item.failed's webhook carries the same
// data. Real admission, dispatcher release and completion on PostgreSQL.

let store: MigratedDatabase;
const catalog = modelCatalog({ defaultModel: 'u2net' });
const metadata = { order: 'A-17', tags: ['spring', 'sale'], nested: { n: 3 } };

beforeAll(async () => {
  store = await migratedDatabase('item event metadata');
});
afterAll(async () => store?.dispose());

const succeeded: TaskOutcome = {
  status: 'succeeded',
  outputs: [
    {
      rendition: 'cutout',
      bucket: 'out-a',
      key: 'cut/a.png',
      contentType: 'image/png',
      bytes: 10,
      width: 4,
      height: 4,
    },
  ],
};
const failed: TaskOutcome = {
  status: 'failed',
  error: { code: 'unsupported_format', message: 'not an image' },
};

/** A tenant with an item.failed endpoint and one admitted job (with `meta` when given), released. */
async function jobWithOneTask(jobId: string, meta?: object) {
  const tenant = await store.tenant('pro');
  await addGrant(store.db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(store.db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
  await addWebhookEndpoint(
    store.db,
    requireMasterKey(store.environment.config.gateway.masterKey),
    { allowHttp: true, allowPrivate: true },
    { tenantId: tenant, url: 'http://127.0.0.1:9/hook', events: ['item.failed'] },
  );
  const [decision] = await store.db.transaction((tx) =>
    admitBatch(tx, [trustedJobRequest(tenant, jobId, meta)], { now: new Date(), catalog }),
  );
  expect(decision?.outcome).toBe('accepted');
  const released = await releaseTasks(store.db, { quantum: 10, maxTenants: 100, leaseMs: 60_000 });
  const task = released.find((t) => t.tenantId === tenant);
  if (!task) throw new Error(`no task of ${tenant} was released`);
  return { tenant, taskId: task.id };
}

/** Ends the task and returns its item event (parsed with the contract) and its webhook bodies. */
async function complete(jobId: string, meta: object | undefined, outcome: TaskOutcome) {
  const { tenant, taskId } = await jobWithOneTask(jobId, meta);
  const completion = await store.db.transaction((tx) => completeTask(tx, { taskId, attempt: 1 }, outcome));
  expect(completion.applied).toBe(true);
  const kind = outcome.status === 'succeeded' ? 'item.succeeded' : 'item.failed';
  const rows = await store.db.query<{ body: string }>('SELECT body FROM outbox WHERE routing_key = $1', [
    `${tenant}.${jobId}.${kind}`,
  ]);
  expect(rows).toHaveLength(1);
  const hooks = await store.db.query<{ body: string }>(
    'SELECT body FROM webhook_deliveries WHERE tenant_id = $1',
    [tenant],
  );
  return {
    event: resultEventSchema.parse(JSON.parse(rows[0]!.body)),
    webhooks: hooks.map((h) => webhookEventSchema.parse(JSON.parse(h.body))),
  };
}

describe('item result events echo the job metadata', () => {
  it('item.succeeded carries the job metadata (no webhook: item.succeeded is not sent)', async () => {
    const { event, webhooks } = await complete('with-meta-ok', metadata, succeeded);
    expect(event).toMatchObject({ kind: 'item.succeeded', jobId: 'with-meta-ok', metadata });
    expect(webhooks).toEqual([]);
  });

  it('item.failed and its webhook carry the job metadata', async () => {
    const { event, webhooks } = await complete('with-meta-bad', metadata, failed);
    expect(event).toMatchObject({ kind: 'item.failed', error: failed.error, metadata });
    expect(webhooks).toHaveLength(1);
    expect(webhooks[0]).toMatchObject({ type: 'item.failed', data: { jobId: 'with-meta-bad', metadata } });
  });

  it('a job without metadata gives item events without the field', async () => {
    const ok = await complete('plain-ok', undefined, succeeded);
    const bad = await complete('plain-bad', undefined, failed);
    expect(ok.event).not.toHaveProperty('metadata');
    expect(bad.event).not.toHaveProperty('metadata');
    expect(bad.webhooks[0]?.data).not.toHaveProperty('metadata');
    expect(bad.webhooks[0]).toMatchObject({ type: 'item.failed', data: { jobId: 'plain-bad' } });
  });
});
