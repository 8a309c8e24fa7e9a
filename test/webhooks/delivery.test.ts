import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhooksConfig } from '../../src/config/webhooks.js';
import { webhookEventSchema } from '../../src/contracts/webhook-event.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createWebhookDelivery } from '../../src/webhooks/delivery.js';
import {
  addWebhookEndpoint,
  removeWebhookEndpoint,
  rotateWebhookSecret,
  setWebhookEndpointEnabled,
} from '../../src/webhooks/endpoint-admin.js';
import { enqueueWebhooks } from '../../src/webhooks/outbox.js';
import type { Lookup } from '../../src/webhooks/resolve-target.js';
import {
  getWebhookEndpoint,
  recentWebhookDeliveries,
  type WebhookDelivery,
} from '../../src/webhooks/store.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { untilValue } from '../support/until.js';
import { startWebhookReceiver, verifySignature, type WebhookReceiver } from '../support/webhook-receiver.js';
import { resultEvent } from './result-events.js';
import { deliveryRound } from './rounds.js';

// The delivery loop against a real PostgreSQL and a local receiver that verifies signatures the
// way the Standard Webhooks specification describes (test/support/webhook-receiver.ts). Events are
// queued with enqueueWebhooks, as task completion and job finalisation do in their transactions
// (end-to-end.test.ts shows a real job doing it).

let environment: TestEnvironment;
let db: Database;
let masterKey: Buffer;
let config: WebhooksConfig;
const receivers: WebhookReceiver[] = [];
const log = createLogger('silent');
const lenient = { allowHttp: true, allowPrivate: true };

beforeAll(async () => {
  environment = await createTestEnvironment('webhook delivery', {
    CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
    CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
    CLEARCUT_WEBHOOKS_RETRY_DELAYS: '20ms,20ms',
    CLEARCUT_WEBHOOKS_TIMEOUT: '1s',
    CLEARCUT_WEBHOOKS_CONNECT_TIMEOUT: '500ms',
    CLEARCUT_WEBHOOKS_MAX_RESPONSE_BYTES: '4KiB',
    CLEARCUT_WEBHOOKS_DISABLE_AFTER_EVENTS: '2',
  });
  db = createDatabase(environment.config.database);
  await migrate(db);
  masterKey = requireMasterKey(environment.config.gateway.masterKey);
  config = environment.config.webhooks;
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await db?.close();
  await environment?.dispose();
});

let tenants = 0;
/** A tenant of its own and an endpoint to a fresh receiver, per test. */
async function setUp(events: ('job.completed' | 'item.failed')[] = ['job.completed', 'item.failed']) {
  tenants += 1;
  const tenantId = `acme-${tenants}`;
  await createTenant(db, tenantId, 'unlimited');
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const { endpoint, secret } = await addWebhookEndpoint(db, masterKey, lenient, {
    tenantId,
    url: receiver.url,
    events,
  });
  receiver.secrets = [secret];
  return { tenantId, receiver, endpoint, secret };
}

/** Queues a result event's webhooks as src/jobs does; returns its id (the webhook-id). */
async function queueEvent(tenantId: string, kind: 'job.completed' | 'item.failed', jobId = 'job-1') {
  const event = resultEvent(tenantId, kind, jobId);
  await db.transaction((tx) => enqueueWebhooks(tx, [event]));
  return event.messageId;
}

/** Runs delivery rounds until the endpoint's deliveries satisfy `done`. */
function deliverUntil(
  endpointId: string,
  done: (deliveries: WebhookDelivery[]) => boolean,
  overrides: Partial<WebhooksConfig> & { lookup?: Lookup } = {},
): Promise<WebhookDelivery[]> {
  const { lookup, ...settings } = overrides;
  return untilValue(
    async () => {
      await deliveryRound({
        db,
        masterKey,
        config: { ...config, ...settings },
        log,
        ...(lookup ? { lookup } : {}),
      });
      const deliveries = await recentWebhookDeliveries(db, { tenantId: null, endpointId });
      return done(deliveries) ? deliveries : undefined;
    },
    { what: `deliveries of ${endpointId} to reach the expected state` },
  );
}

const allFinished = (count: number) => (deliveries: WebhookDelivery[]) =>
  deliveries.length === count && deliveries.every((delivery) => delivery.status !== 'pending');

describe('webhook delivery', () => {
  it('sends a signed {type, timestamp, data} body per the contract, once per event id', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    const completedId = await queueEvent(tenantId, 'job.completed');
    const failedId = await queueEvent(tenantId, 'item.failed');
    const [later, earlier] = await deliverUntil(endpoint.id, allFinished(2));
    expect([earlier!.status, later!.status]).toEqual(['succeeded', 'succeeded']);
    expect(earlier!.log).toMatchObject([{ attempt: 1, statusCode: 204, error: null }]);
    const verified = receiver.verified();
    expect(receiver.received).toHaveLength(2);
    expect(verified.map((request) => request.id).sort()).toEqual([completedId, failedId].sort());
    const completed = verified.find((request) => request.id === completedId)!;
    const body = webhookEventSchema.parse(JSON.parse(completed.body));
    expect(body).toEqual({
      type: 'job.completed',
      timestamp: expect.any(String),
      data: {
        tenant: tenantId,
        jobId: 'job-1',
        total: 2,
        succeeded: 1,
        failed: 1,
        manifest: { bucket: 'out-bucket', key: '_clearcut/job-1.results.jsonl' },
      },
    });
    expect(completed.headers['content-type']).toBe('application/json');
    const failed = webhookEventSchema.parse(JSON.parse(verified.find((r) => r.id === failedId)!.body));
    expect(failed).toMatchObject({
      type: 'item.failed',
      data: { source: { key: 'p/1.jpg' }, error: { code: 'not_found', message: 'no such object' } },
    });
    // Queued again (a finaliser crash after commit cannot do this, but a bug could): still one row.
    await db.transaction((tx) =>
      enqueueWebhooks(tx, [
        { messageId: completedId, body: JSON.stringify({ ...JSON.parse(completed.body) }) },
      ]),
    );
    expect(await recentWebhookDeliveries(db, { tenantId, endpointId: endpoint.id })).toHaveLength(2);
  });

  it('queues nothing when the transaction that recorded the event rolls back', async () => {
    const { tenantId, endpoint } = await setUp();
    await expect(
      db.transaction(async (tx) => {
        await enqueueWebhooks(tx, [resultEvent(tenantId, 'job.completed')]);
        throw new Error('the finalisation failed');
      }),
    ).rejects.toThrow('the finalisation failed');
    expect(await recentWebhookDeliveries(db, { tenantId, endpointId: endpoint.id })).toEqual([]);
  });

  it('queues only the event types an endpoint subscribed to, for its own tenant', async () => {
    const { tenantId, endpoint } = await setUp(['job.completed']);
    const other = await setUp(['item.failed']);
    await queueEvent(tenantId, 'item.failed');
    await queueEvent(tenantId, 'job.completed');
    const deliveries = await recentWebhookDeliveries(db, { tenantId, endpointId: endpoint.id });
    expect(deliveries.map((delivery) => delivery.eventType)).toEqual(['job.completed']);
    expect(await recentWebhookDeliveries(db, { tenantId: other.tenantId })).toEqual([]);
    // Tenant-scoped reads: another tenant's scope sees nothing of this endpoint.
    expect(await recentWebhookDeliveries(db, { tenantId: other.tenantId, endpointId: endpoint.id })).toEqual(
      [],
    );
    expect(await getWebhookEndpoint(db, endpoint.id, { tenantId: other.tenantId })).toBeUndefined();
  });

  it('retries after a 500 and logs both attempts under the same webhook-id', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    receiver.answer = (_request, index) =>
      index === 0 ? { status: 500, body: 'database down' } : { status: 200, body: 'ok' };
    const id = await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, allFinished(1));
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2, messageId: id });
    expect(delivery!.log).toMatchObject([
      { attempt: 1, statusCode: 500, responseSnippet: 'database down', error: null },
      { attempt: 2, statusCode: 200, responseSnippet: 'ok', error: null },
    ]);
    expect(receiver.verified().map((request) => request.id)).toEqual([id, id]);
  });

  it('gives up after the schedule and disables an endpoint whose events keep failing', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    receiver.answer = () => ({ status: 503 });
    await queueEvent(tenantId, 'item.failed');
    await queueEvent(tenantId, 'item.failed');
    const deliveries = await deliverUntil(endpoint.id, allFinished(2));
    // Three attempts each (the first and CLEARCUT_WEBHOOKS_RETRY_DELAYS' two retries).
    expect(deliveries.map((delivery) => [delivery.status, delivery.log.map((a) => a.statusCode)])).toEqual([
      ['failed', [503, 503, 503]],
      ['failed', [503, 503, 503]],
    ]);
    const disabled = await getWebhookEndpoint(db, endpoint.id, { tenantId });
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: '2 events in a row failed on every attempt',
    });
    // While disabled, new events are not queued for it.
    await queueEvent(tenantId, 'item.failed');
    expect(await recentWebhookDeliveries(db, { tenantId, endpointId: endpoint.id })).toHaveLength(2);
    const enabled = await setWebhookEndpointEnabled(db, endpoint.id, true);
    expect(enabled).toMatchObject({
      enabled: true,
      disabledReason: null,
      failedEvents: 0,
      failingSince: null,
    });
    receiver.answer = () => ({ status: 200 });
    await queueEvent(tenantId, 'item.failed');
    const after = await deliverUntil(endpoint.id, allFinished(3));
    expect(after[0]).toMatchObject({ status: 'succeeded', attempts: 1 });
  });

  it('also disables an endpoint that has failed for longer than CLEARCUT_WEBHOOKS_DISABLE_AFTER', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    receiver.answer = () => ({ status: 500 });
    await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, (found) => found[0]!.attempts >= 2, {
      disableAfterEvents: 1000,
      disableAfterMs: 1,
    });
    // Disabled at the second failed attempt: its remaining retry waits for `enable`.
    expect(delivery).toMatchObject({ status: 'pending', attempts: 2 });
    const disabled = await getWebhookEndpoint(db, endpoint.id, { tenantId });
    expect(disabled?.disabledReason).toMatch(/^every attempt failed for \d+ s$/);
    await deliveryRound({ db, masterKey, config, log });
    expect((await recentWebhookDeliveries(db, { tenantId }))[0]!.attempts).toBe(2);
  });

  it('cuts off a receiver that does not answer in time, and an oversized answer', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    receiver.answer = (_request, index) =>
      index === 0 ? 'hang' : { status: 200, body: 'x'.repeat(100_000) };
    await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, allFinished(1));
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 2 });
    const [hung, big] = delivery!.log;
    expect(hung).toMatchObject({ statusCode: null, error: 'no complete answer within 1000 ms' });
    expect(hung!.latencyMs).toBeGreaterThanOrEqual(1000);
    expect(big).toMatchObject({ statusCode: 200, error: 'answer cut off after 4096 bytes' });
    expect(big!.responseSnippet).toBe('x'.repeat(1024));
  });

  it('logs a connection that fails, and retries it', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    await receiver.close(); // nothing listens on its port any more
    await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, allFinished(1));
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3 });
    expect(delivery!.log[0]).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/^ECONNREFUSED/),
    });
  });

  it('signs with the new secret and, during the grace period, the old one too', async () => {
    const { tenantId, receiver, endpoint, secret: old } = await setUp();
    const { secret: fresh, endpoint: rotated } = await rotateWebhookSecret(
      db,
      masterKey,
      endpoint.id,
      3_600_000,
    );
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fresh).not.toBe(old);
    expect(rotated.previousSecretUntil).not.toBeNull();
    receiver.secrets = [fresh];
    await queueEvent(tenantId, 'job.completed');
    await deliverUntil(endpoint.id, allFinished(1));
    const [request] = receiver.verified();
    expect(request!.signature!.split(' ')).toHaveLength(2);
    // A receiver still holding the old secret verifies too; one with neither does not.
    const parts = { id: request!.id, timestamp: request!.timestamp, signature: request!.signature };
    expect(verifySignature([old], parts, request!.body)).toBeUndefined();
    expect(
      verifySignature(['whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='], parts, request!.body),
    ).toBe('no signature matches');
    // Rotated again with no grace: only the newest secret signs, and the old one fails.
    const { secret: newest } = await rotateWebhookSecret(db, masterKey, endpoint.id, 0);
    receiver.secrets = [fresh];
    await queueEvent(tenantId, 'job.completed', 'job-2');
    await deliverUntil(endpoint.id, allFinished(2));
    const refused = receiver.received.at(-1)!;
    expect(refused.refused).toBe('no signature matches');
    expect(refused.signature!.split(' ')).toHaveLength(1);
    expect(verifySignature([newest], refused, refused.body)).toBeUndefined();
  });

  it('stops sending to a removed endpoint', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    await queueEvent(tenantId, 'job.completed');
    await removeWebhookEndpoint(db, endpoint.id);
    await queueEvent(tenantId, 'job.completed', 'job-2');
    await deliveryRound({ db, masterKey, config, log });
    expect(receiver.received).toEqual([]);
    expect(await recentWebhookDeliveries(db, { tenantId })).toEqual([]);
  });

  it('checks the address again at delivery: a refused address is a failed attempt, never a request', async () => {
    const { tenantId, receiver, endpoint } = await setUp();
    await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, (found) => found[0]!.attempts === 1, {
      allowPrivateAddresses: false,
    });
    expect(delivery!.log[0]).toMatchObject({
      statusCode: null,
      error:
        'refused: 127.0.0.1 is a loopback address (an operator can allow these with CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)',
    });
    expect(receiver.received).toEqual([]);
  });

  it('connects to the address it vetted, with the name in Host, and re-resolves every attempt', async () => {
    tenants += 1;
    const tenantId = `acme-${tenants}`;
    await createTenant(db, tenantId, 'unlimited');
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const port = new URL(receiver.url).port;
    const resolvesTo =
      (address: string): Lookup =>
      async () => [{ address, family: 4 }];
    const { endpoint, secret } = await addWebhookEndpoint(
      db,
      masterKey,
      lenient,
      { tenantId, url: `http://hooks.example.test:${port}/in`, events: ['job.completed'] },
      { lookup: resolvesTo('127.0.0.1') },
    );
    receiver.secrets = [secret];
    await queueEvent(tenantId, 'job.completed');
    await deliverUntil(endpoint.id, allFinished(1), { lookup: resolvesTo('127.0.0.1') });
    expect(receiver.verified()[0]!.headers.host).toBe(`hooks.example.test:${port}`);
    // The name now resolves to the metadata address (DNS rebinding): refused before connecting.
    await queueEvent(tenantId, 'job.completed', 'job-2');
    const [rebound] = await deliverUntil(
      endpoint.id,
      (found) => found.length === 2 && found[0]!.attempts === 1,
      {
        lookup: resolvesTo('169.254.169.254'),
      },
    );
    expect(rebound!.log[0]!.error).toBe(
      'refused: hooks.example.test → 169.254.169.254 is a cloud metadata address',
    );
    expect(receiver.received).toHaveLength(1);
  });

  it('fails an attempt whose DNS lookup hangs at the total timeout, well within its lease', async () => {
    tenants += 1;
    const tenantId = `acme-${tenants}`;
    await createTenant(db, tenantId, 'unlimited');
    const hanging: Lookup = () => new Promise(() => {});
    // `add` resolves too, bounded the same way: refused, not held open.
    await expect(
      addWebhookEndpoint(
        db,
        masterKey,
        lenient,
        { tenantId, url: 'http://slow-dns.example.test/in', events: ['job.completed'] },
        { lookup: hanging, resolveTimeoutMs: 50 },
      ),
    ).rejects.toMatchObject({
      code: 'unresolvable',
      message: 'slow-dns.example.test did not resolve within 50 ms',
    });
    const { endpoint } = await addWebhookEndpoint(
      db,
      masterKey,
      lenient,
      { tenantId, url: 'http://slow-dns.example.test/in', events: ['job.completed'] },
      { lookup: async () => [{ address: '127.0.0.1', family: 4 }] },
    );
    await queueEvent(tenantId, 'job.completed');
    const [delivery] = await deliverUntil(endpoint.id, (found) => found[0]!.attempts === 1, {
      lookup: hanging,
    });
    const [attempt] = delivery!.log;
    expect(attempt).toMatchObject({
      statusCode: null,
      error: 'slow-dns.example.test did not resolve within 1000 ms',
    });
    // The claim's lease is the timeout + 30 s: the attempt ended long before another loop could take it.
    expect(attempt!.latencyMs).toBeLessThan(config.timeoutMs + 30_000);
    expect(delivery).toMatchObject({ status: 'pending' });
  });

  it('gives an endpoint that hangs only its share of the slots: others are delivered meanwhile', async () => {
    const slow = await setUp();
    slow.receiver.answer = () => 'hang';
    for (let i = 0; i < 10; i += 1) await queueEvent(slow.tenantId, 'job.completed', `slow-${i}`);
    const fast = await setUp();
    for (let i = 0; i < 3; i += 1) await queueEvent(fast.tenantId, 'job.completed', `fast-${i}`);
    // Four slots, so one per endpoint; the hanging attempts would last 60 s.
    const delivery = createWebhookDelivery({
      db,
      masterKey,
      config: { ...config, concurrency: 4, timeoutMs: 60_000 },
      log,
    });
    await untilValue(
      async () => {
        await delivery.step();
        return allFinished(3)(
          await recentWebhookDeliveries(db, { tenantId: null, endpointId: fast.endpoint.id }),
        );
      },
      { what: "the other endpoint's deliveries while one hangs" },
    );
    expect(slow.receiver.received).toHaveLength(1);
    await slow.receiver.close(); // the hanging answer breaks off: a failed attempt, retried later
    await delivery.drain();
    const [first] = (
      await recentWebhookDeliveries(db, { tenantId: null, endpointId: slow.endpoint.id })
    ).filter((found) => found.attempts > 0);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, log: [{ statusCode: null }] });
  });

  it('sends each event once when two delivery loops run side by side', async () => {
    const { tenantId, receiver, endpoint } = await setUp(['item.failed']);
    const ids = new Set<string>();
    for (let i = 0; i < 12; i += 1) ids.add(await queueEvent(tenantId, 'item.failed', `job-${i}`));
    const second = createDatabase(environment.config.database);
    try {
      const narrow = { ...config, concurrency: 3 };
      await untilValue(
        async () => {
          await Promise.all([
            deliveryRound({ db, masterKey, config: narrow, log }),
            deliveryRound({ db: second, masterKey, config: narrow, log }),
          ]);
          const found = await recentWebhookDeliveries(db, { tenantId, endpointId: endpoint.id });
          return allFinished(12)(found) || undefined;
        },
        { what: 'twelve deliveries by two loops' },
      );
    } finally {
      await second.close();
    }
    const received = receiver.verified().map((request) => request.id!);
    expect(received).toHaveLength(12);
    expect(new Set(received)).toEqual(ids);
  });
});
