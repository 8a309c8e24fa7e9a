import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit.js';
import { loadConfig } from '../../src/config.js';
import { type Task, taskSchema } from '../../src/contracts/task.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createEventConsumer } from '../../src/events/consumer.js';
import { startEventService } from '../../src/events/service.js';
import { createLogger } from '../../src/log.js';
import { modelCatalog } from '../../src/models/catalog.js';
import type { EventDecision } from '../../src/object-events/admission.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { type Collector, createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';
import { awsEvent, minioEvent, publishEvents } from './event-messages.js';

// The event consumer against the real RabbitMQ and PostgreSQL: real MinIO- and AWS-shaped
// notifications go through the events exchange, and the tasks table must hold exactly the work
// they should make.

let environment: TestEnvironment;
let db: Database;
let broker: TestBroker;
let results: Collector;
const log = createLogger('silent');

// photos-in is both input and output bucket (the loop case); shop-in writes to shop-out.
let photosRule: string;
let shopRule: string;

beforeAll(async () => {
  environment = await createTestEnvironment('events consumer');
  db = createDatabase(environment.config.database);
  await migrate(db);
  broker = await createTestBroker(environment.amqpPrefix);
  await broker.declare();
  results = await broker.collect(broker.names.resultsExchange, '#');
  await createTenant(db, 'acme', 'pro');
  await createTenant(db, 'beta', 'pro');
  await addGrant(db, 'acme', { bucket: 'photos-in', prefix: '', access: 'read' });
  await addGrant(db, 'acme', { bucket: 'photos-in', prefix: 'cutouts/', access: 'write' });
  await addGrant(db, 'acme', { bucket: 'shop-in', prefix: '', access: 'read' });
  await addGrant(db, 'acme', { bucket: 'shop-out', prefix: 'cut/', access: 'write' });
  photosRule = (
    await addTrigger(db, {
      tenantId: 'acme',
      bucket: 'photos-in',
      prefix: '',
      suffixes: ['.jpg', '.png'],
      output: { bucket: 'photos-in', prefix: 'cutouts/' },
      renditions: [{ kind: 'cutout', format: 'png' }],
      model: 'u2netp',
    })
  ).id;
  shopRule = (
    await addTrigger(db, {
      tenantId: 'acme',
      bucket: 'shop-in',
      prefix: '',
      suffixes: [],
      output: { bucket: 'shop-out', prefix: 'cut/' },
      renditions: [{ kind: 'mask' }],
    })
  ).id;
  // beta has no grants at all: its matches must be rejected, not run.
  await addTrigger(db, {
    tenantId: 'beta',
    bucket: 'beta-in',
    prefix: 'new/',
    suffixes: [],
    output: { bucket: 'beta-out', prefix: '' },
  });
});

afterAll(async () => {
  await broker?.dispose();
  await db?.close();
  await environment?.dispose();
});

/** Runs a consumer until it has decided `records` records (events + malformed), then drains it. */
async function consume(records: number): Promise<EventDecision[]> {
  const decided: EventDecision[] = [];
  let seen = 0;
  const consumer = createEventConsumer({
    bus: broker.bus,
    queue: broker.names.eventsQueue,
    db,
    settings: { prefetch: 50, batchSize: 20, batchWindowMs: 5 },
    catalog: modelCatalog({ defaultModel: 'u2net' }),
    log,
    onCommitted: (decisions, malformed) => {
      decided.push(...decisions);
      seen += decisions.length + malformed;
    },
    onLost: (error) => {
      throw error;
    },
  });
  await consumer.start();
  try {
    await until(() => seen >= records, { timeoutMs: 20_000, what: `${records} records decided` });
  } finally {
    await consumer.stop();
  }
  expect(seen).toBe(records);
  return decided;
}

const taskRows = () =>
  db.query<{ tenant_id: string; job_id: string; source_bucket: string; source_key: string }>(
    'SELECT tenant_id, job_id, source_bucket, source_key FROM tasks ORDER BY source_bucket, source_key',
  );

describe('event consumer', () => {
  it('turns exactly the matching created objects into tasks, and nothing else', async () => {
    const shoe = { bucket: 'photos-in', key: 'summer sale/red shoe.jpg', eTag: 'aaa111' };
    await publishEvents(broker, [
      minioEvent(shoe),
      awsEvent([{ bucket: 'shop-in', key: 'a/b+c.png', eTag: 'bbb222' }]),
      // the same notification again (MinIO retry): no second task
      minioEvent(shoe),
      // our own output landing in the input bucket: must not loop
      minioEvent({ bucket: 'photos-in', key: 'cutouts/summer sale/red shoe.cutout.png', eTag: 'ccc333' }),
      // no rule for this bucket, and a suffix no rule asks for
      minioEvent({ bucket: 'unwatched', key: 'x.jpg' }),
      minioEvent({ bucket: 'photos-in', key: 'notes.txt' }),
      // not a create
      awsEvent([{ bucket: 'shop-in', key: 'a/b+c.png', eTag: 'bbb222' }], 'ObjectRemoved:Delete'),
      minioEvent({ bucket: 'shop-in', key: 'gone.png' }, 's3:ObjectRemoved:Delete'),
      // a good record and a malformed one in one message, then an unreadable message
      {
        Records: [
          awsEvent([{ bucket: 'shop-in', key: 'c.png', eTag: 'ddd444' }]).Records[0],
          { eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' },
        ],
      },
      'this is not json',
      // a key that decodes to a control character, and a broken escape
      minioEvent({ bucket: 'shop-in', key: 'bad\u0001key.png' }),
      {
        Records: [
          {
            ...awsEvent([{ bucket: 'shop-in', key: 'x' }]).Records[0]!,
            s3: { bucket: { name: 'shop-in' }, object: { key: '%E0%A4%A', eTag: 'e' } },
          },
        ],
      },
      // a rule of a tenant without grants: rejected with a reason
      awsEvent([{ bucket: 'beta-in', key: 'new/p.jpg', eTag: 'fff666' }]),
      // AWS's configuration test message: nothing to do
      { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-29T10:00:00Z', Bucket: 'shop-in' },
    ]);
    // 10 object events + 4 malformed (one record, one message, two keys); the test event is neither
    const decided = await consume(10 + 4);

    expect(await taskRows()).toEqual([
      expect.objectContaining({
        tenant_id: 'acme',
        source_bucket: 'photos-in',
        source_key: 'summer sale/red shoe.jpg',
      }),
      expect.objectContaining({ tenant_id: 'acme', source_bucket: 'shop-in', source_key: 'a/b+c.png' }),
      expect.objectContaining({ tenant_id: 'acme', source_bucket: 'shop-in', source_key: 'c.png' }),
    ]);
    const outcomes = decided.map((d) => `${d.event.bucket}/${d.event.key}: ${d.outcome}`).sort();
    expect(outcomes).toEqual(
      [
        'beta-in/new/p.jpg: rejected',
        'photos-in/cutouts/summer sale/red shoe.cutout.png: ignored_own_output',
        'photos-in/notes.txt: ignored_no_rule',
        'photos-in/summer sale/red shoe.jpg: accepted',
        'photos-in/summer sale/red shoe.jpg: duplicate',
        'shop-in/a/b+c.png: accepted',
        'shop-in/a/b+c.png: ignored_not_created',
        'shop-in/c.png: accepted',
        'shop-in/gone.png: ignored_not_created',
        'unwatched/x.jpg: ignored_no_rule',
      ].sort(),
    );

    const jobs = await db.query<{
      id: string;
      key_id: string | null;
      spec: { output: unknown; renditions: unknown; model: string };
    }>(`SELECT id, key_id, spec FROM jobs WHERE tenant_id = 'acme' ORDER BY id`);
    expect(jobs).toHaveLength(3);
    expect(jobs.every((job) => job.key_id === null)).toBe(true);
    const shopJob = jobs.find((job) => job.id.startsWith(`s3-${shopRule}-`))!;
    expect(shopJob.spec).toMatchObject({
      output: { bucket: 'shop-out', prefix: 'cut/' },
      renditions: [{ kind: 'mask' }],
      model: 'u2net',
    });
    expect(jobs.filter((job) => job.id.startsWith(`s3-${photosRule}-`))).toHaveLength(1);

    const audit = await listAudit(db);
    const events = audit.filter((row) => row.source === 'event');
    expect(events.filter((row) => row.outcome === 'accepted')).toHaveLength(3);
    expect(events.filter((row) => row.outcome === 'rejected' && row.reason === 'invalid_body')).toHaveLength(
      4,
    );
    expect(events.filter((row) => row.outcome === 'rejected' && row.reason === 'forbidden_location')).toEqual(
      [
        expect.objectContaining({
          tenantId: 'beta',
          detail: expect.stringContaining('no read grant on s3://beta-in/new/p.jpg'),
        }),
      ],
    );
    expect(events.find((row) => row.detail?.includes('record 1'))?.detail).toContain('Records[1].s3');
    // everything was acked
    expect(await broker.depth(broker.names.eventsQueue)).toBe(0);
  });

  it('makes no second task for a repeated event in a later batch, but a new eTag is new work', async () => {
    const before = (await taskRows()).length;
    await publishEvents(broker, [
      minioEvent({ bucket: 'photos-in', key: 'summer sale/red shoe.jpg', eTag: 'aaa111' }),
      awsEvent([{ bucket: 'shop-in', key: 'c.png', eTag: 'ddd444' }]),
      awsEvent([{ bucket: 'shop-in', key: 'c.png', eTag: 'changed-999' }]),
    ]);
    const decided = await consume(3);
    expect(decided.map((d) => d.outcome)).toEqual(['duplicate', 'duplicate', 'accepted']);
    expect((await taskRows()).length).toBe(before + 1);
  });

  it('runs as a service that publishes the tasks and accepted events, without a signing key', async () => {
    const config = loadConfig({ ...environment.env, CLEARCUT_DISPATCH_INTERVAL: '50ms' });
    await broker.drain(broker.names.tasksQueue);
    const service = await startEventService(config, { log, dispatch: true, ops: { port: 0 } });
    try {
      await publishEvents(broker, [
        minioEvent({ bucket: 'shop-in', key: 'new arrivals/blue hat.jpg', eTag: 'hat-1' }),
      ]);
      // The dispatcher also releases the tasks the earlier tests left pending.
      const tasks: Task[] = [];
      const hat = () => tasks.find((t) => t.source.key === 'new arrivals/blue hat.jpg');
      await until(
        async () => {
          tasks.push(...(await broker.drain(broker.names.tasksQueue)).map((m) => taskSchema.parse(m.json())));
          return hat() !== undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: 'the task of the new upload' },
      );
      expect(tasks.map((t) => t.source.key).sort()).toEqual([
        'a/b+c.png',
        'c.png',
        'c.png',
        'new arrivals/blue hat.jpg',
        'summer sale/red shoe.jpg',
      ]);
      const task = hat()!;
      expect(task).toMatchObject({
        tenant: 'acme',
        source: { bucket: 'shop-in', key: 'new arrivals/blue hat.jpg' },
        output: { bucket: 'shop-out', prefix: 'cut/' },
        renditions: [{ kind: 'mask', format: 'png' }],
      });
      expect(task.keyId).toBeUndefined();
      await results.waitFor((messages) =>
        messages.some((m) => m.routingKey === `acme.${task.jobId}.accepted`),
      );
      const accepted = results.messages.find((m) => m.routingKey === `acme.${task.jobId}.accepted`)!.json();
      expect(accepted).toMatchObject({
        keyId: null,
        items: 1,
        metadata: { trigger: shopRule, eTag: 'hat-1' },
      });
    } finally {
      await service.stop();
    }
  });
});
