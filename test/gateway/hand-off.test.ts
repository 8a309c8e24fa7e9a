import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import type { AdmissionRequest } from '../../src/admission/request.js';
import type { TaskInput } from '../../src/contracts/task.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { dispatchRound } from '../../src/jobs/dispatcher.js';
import type { AdmissionRelease } from '../../src/jobs/job-store.js';
import type { ClaimedEvent } from '../../src/jobs/outbox.js';
import { createOutboxRelay } from '../../src/jobs/outbox-relay.js';
import { createPublishingLoops } from '../../src/jobs/publishing.js';
import { type JobForTasks, type ReleasedTask, taskOutbox } from '../../src/jobs/task-queue.js';
import { createLogger } from '../../src/log.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { setQuota } from '../../src/policy/quota-settings.js';
import type { Publisher } from '../../src/queue/bus.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { type Collector, createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// Admission releasing a batch's tasks (and leasing its result events) to the admitting gateway,
// which publishes them right after its commit: on the real database and broker. Which tenants'
// tasks go out so (the fairness rules hold), that the hand-off publishes each once, and that when
// the gateway dies between its commit and its publish the dispatcher and relay publish them, once.

let environment: TestEnvironment;
let db: Database;
let broker: TestBroker;
let publisher: Publisher;
let tasksSeen: Collector;
let eventsSeen: Collector;
const catalog = modelCatalog({ defaultModel: 'u2netp' });
const log = createLogger('error');

beforeAll(async () => {
  environment = await createTestEnvironment('admission hand-off');
  db = createDatabase(environment.config.database);
  await migrate(db);
  broker = await createTestBroker(environment.amqpPrefix);
  await broker.declare();
  publisher = await broker.bus.publisher();
  tasksSeen = await broker.collect(broker.names.tasksExchange, 'normal');
  eventsSeen = await broker.collect(broker.names.resultsExchange, '#');
});
afterAll(async () => {
  await publisher?.close();
  await broker?.dispose();
  await db?.close();
  await environment?.dispose();
});

async function tenant(name: string, maxInFlight: number) {
  const id = (await createTenant(db, `${name}-${environment.amqpPrefix.slice(-6)}`, 'pro')).id;
  await setQuota(db, id, { maxInFlight });
  await addGrant(db, id, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(db, id, { bucket: 'out-a', prefix: '', access: 'write' });
  return id;
}

let jobs = 0;
function request(tenantId: string, items: number): AdmissionRequest {
  const keys = Array.from({ length: items }, (_, n) => `photo-${jobs}-${n}.jpg`);
  return {
    tenantId,
    jobId: `job-${++jobs}`,
    keyId: null,
    nonce: null,
    body: { value: { version: 1, input: { bucket: 'in-a', keys }, output: { bucket: 'out-a', prefix: '' } } },
    repeated: false,
    origin: { source: 'event' },
  };
}

/** Admits in one transaction as the gateway does; returns what it would publish after the commit. */
async function admit(requests: readonly AdmissionRequest[], release: AdmissionRelease) {
  let admitted: readonly JobForTasks[] = [];
  let handed: { tasks: readonly ReleasedTask[]; events: readonly ClaimedEvent[] } = { tasks: [], events: [] };
  const decisions = await db.transaction((tx) =>
    admitBatch(tx, requests, {
      now: new Date(),
      catalog,
      release,
      onAdmitted: (inserted) => {
        admitted = inserted;
      },
      onReleased: (tasks, events) => {
        handed = { tasks, events };
      },
    }),
  );
  expect(decisions.map((d) => d.outcome)).toEqual(requests.map(() => 'accepted'));
  const byId = new Map(admitted.map((job) => [job.jobId, job]));
  return {
    tasks: handed.tasks.map((task) => [task, byId.get(task.jobId)!] as const),
    events: handed.events,
  };
}

const rows = (tenantId: string) =>
  db.query<{ job_id: string; status: string; published_at: Date | null }>(
    'SELECT job_id, status, published_at FROM tasks WHERE tenant_id = $1 ORDER BY id',
    [tenantId],
  );
const counters = async (tenantId: string) =>
  (
    await db.query<{ pending: number; in_flight: number }>(
      'SELECT pending, in_flight FROM tenant_dispatch WHERE tenant_id = $1',
      [tenantId],
    )
  )[0];
const outboxRows = async () =>
  Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM outbox'))[0]!.n);
const taskIdsSeen = () => tasksSeen.messages.map((m) => (m.json() as TaskInput).taskId);
const eventIdsSeen = () => eventsSeen.messages.map((m) => m.messageId);

const loops = (through: Publisher = publisher) =>
  createPublishingLoops({
    settings: {
      dispatchQuantum: 50,
      dispatchIntervalMs: 60_000,
      publishLeaseMs: 30_000,
      taskStuckAfterMs: 600_000,
    },
    db,
    publisher: through,
    names: broker.names,
    log,
  });
const dispatcherOptions = () => ({
  quantum: 50,
  maxTenants: 100,
  leaseMs: 30_000,
  publisher,
  names: broker.names,
});

describe('tasks released at admission', () => {
  // In this order: the last leaves pending tasks, which a dispatcher round would take.
  it('are published once by the hand-off; the dispatcher and relay find nothing more', async () => {
    const owner = await tenant('handed', 100);
    const { tasks, events } = await admit([request(owner, 2), request(owner, 1)], {
      leaseMs: 30_000,
      most: 500,
    });
    expect(tasks).toHaveLength(3);
    expect(events).toHaveLength(2);
    const { handOff } = loops();
    handOff.publish(tasks, events);
    await handOff.settled();
    const ids = tasks.map(([task]) => task.id);
    await tasksSeen.waitFor(() => ids.every((id) => taskIdsSeen().includes(id)));
    await eventsSeen.waitFor(() => events.every((e) => eventIdsSeen().includes(e.messageId)));
    expect((await rows(owner)).every((r) => r.status === 'queued' && r.published_at !== null)).toBe(true);
    expect(await outboxRows()).toBe(0);
    expect(await dispatchRound(taskOutbox(db), dispatcherOptions())).toBe(0);
    expect(taskIdsSeen().filter((id) => ids.includes(id))).toHaveLength(3);
  });

  it('are published once by the dispatcher and relay when the gateway dies between its commit and its publish', async () => {
    const owner = await tenant('orphaned', 100);
    // A 1 ms lease: what a 30 s lease is 30 s after the crash. Nothing is handed to a publisher.
    const { tasks, events } = await admit([request(owner, 3)], { leaseMs: 1, most: 500 });
    expect(tasks).toHaveLength(3);
    expect(events).toHaveLength(1);
    await db.query('SELECT pg_sleep(0.01)');
    const ids = tasks.map(([task]) => task.id);
    expect(await dispatchRound(taskOutbox(db), dispatcherOptions())).toBe(3);
    const relay = createOutboxRelay({
      db,
      publisher,
      exchange: broker.names.resultsExchange,
      batchSize: 500,
      leaseMs: 30_000,
      idleMs: 60_000,
      log,
    });
    relay.start();
    await eventsSeen.waitFor(() => eventIdsSeen().includes(events[0]!.messageId));
    await relay.stop();
    await tasksSeen.waitFor(() => ids.every((id) => taskIdsSeen().includes(id)));
    expect(await dispatchRound(taskOutbox(db), dispatcherOptions())).toBe(0);
    expect(await outboxRows()).toBe(0);
    expect((await rows(owner)).every((r) => r.published_at !== null)).toBe(true);
    expect(taskIdsSeen().filter((id) => ids.includes(id))).toHaveLength(3);
    expect(eventIdsSeen().filter((id) => id === events[0]!.messageId)).toHaveLength(1);
  });

  it("publishes a batch's tasks only once its events are confirmed: refused events send the tasks back to the dispatcher unpublished", async () => {
    const owner = await tenant('refused', 100);
    const { tasks, events } = await admit([request(owner, 2)], { leaseMs: 30_000, most: 500 });
    const published: string[] = [];
    const refusing: Publisher = {
      async publish(messages) {
        published.push(...messages.map((m) => m.exchange));
        throw new Error('broker refused');
      },
      close: async () => {},
    };
    const { handOff } = loops(refusing);
    handOff.publish(tasks, events);
    await handOff.settled();
    // Only the events were tried; the tasks' leases were given back at once, not after 30 s.
    expect(published).toEqual([broker.names.resultsExchange]);
    const ids = tasks.map(([task]) => task.id);
    expect(await dispatchRound(taskOutbox(db), dispatcherOptions())).toBe(2);
    await tasksSeen.waitFor(() => ids.every((id) => taskIdsSeen().includes(id)));
    expect((await rows(owner)).every((r) => r.published_at !== null)).toBe(true);
  });

  it('stops handing over while earlier batches wait for a slow broker, and starts again once they are out', async () => {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const slow: Publisher = {
      async publish(messages) {
        await gate;
        await publisher.publish(messages);
      },
      close: async () => {},
    };
    const { handOff } = loops(slow);
    const owner = await tenant('slow', 100);
    expect(handOff.release()).toEqual({ leaseMs: 30_000, most: 500 });
    for (let batch = 0; batch < 4; batch++) {
      const { tasks, events } = await admit([request(owner, 1)], handOff.release()!);
      expect(tasks).toHaveLength(1);
      handOff.publish(tasks, events);
    }
    // Four batches wait in memory: the next is left to the dispatcher and relays.
    expect(handOff.release()).toBeUndefined();
    open();
    await handOff.settled();
    expect(handOff.release()).toEqual({ leaseMs: 30_000, most: 500 });
    expect((await rows(owner)).every((r) => r.published_at !== null)).toBe(true);
  });

  it('only for a tenant with nothing pending and room for all of them, at most `most` at once', async () => {
    const small = await tenant('small', 5);
    const other = await tenant('other', 100);
    const release = { leaseMs: 30_000, most: 3 };
    // Two fit the window of 5: out at once. Then four more do not fit (2 + 4 > 5): pending.
    const first = await admit([request(small, 2)], release);
    expect(first.tasks).toHaveLength(2);
    expect(await counters(small)).toEqual({ pending: 0, in_flight: 2 });
    expect((await admit([request(small, 4)], release)).tasks).toEqual([]);
    // One would fit, but four of the tenant's older tasks wait: it must not pass them.
    expect((await admit([request(small, 1)], release)).tasks).toEqual([]);
    expect(await counters(small)).toEqual({ pending: 5, in_flight: 2 });
    // More than `most` at once go to the dispatcher, as they would without the hand-off.
    expect((await admit([request(other, 4)], release)).tasks).toEqual([]);
    expect(await counters(other)).toEqual({ pending: 4, in_flight: 0 });
    expect((await rows(small)).map((r) => r.status)).toEqual([
      'queued',
      'queued',
      ...Array.from({ length: 5 }, () => 'pending'),
    ]);
  });
});
