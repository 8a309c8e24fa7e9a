import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepNonces } from '../../src/admission/nonces.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { insertJobs, insertTasks, type NewTask } from '../../src/jobs/job-store.js';
import { abandonEvents, claimEvents, deleteEvents, enqueueEvents } from '../../src/jobs/outbox.js';
import { abandonLeases, markPublished, reclaimUnpublished, releaseTasks } from '../../src/jobs/task-queue.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';

// The SQL of the task outbox and result-event outbox, without a gateway around it.

let environment: TestEnvironment;
let db: Database;
beforeAll(async () => {
  environment = await createTestEnvironment('task_queue');
  db = createDatabase(environment.config.database);
  await migrate(db);
});
afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

let jobs = 0;
async function admit(tenantId: string, items: number, { laneRank = 1 as 0 | 1, maxInFlight = 100 } = {}) {
  const jobId = `job-${++jobs}`;
  await insertJobs(db, [
    {
      tenantId,
      jobId,
      keyId: 'ck_test_000000000000000000000000',
      nonce: `nonce-${jobs}`,
      spec: {},
      model: 'u2netp',
      lane: 'normal',
      total: items,
      imagesReserved: items,
      reservedAt: new Date(),
    },
  ]);
  const tasks: NewTask[] = Array.from({ length: items }, (_, item) => ({
    tenantId,
    jobId,
    item,
    sourceBucket: 'b',
    sourceKey: `${jobId}/${item}`,
    laneRank,
  }));
  await insertTasks(db, tasks, new Map([[tenantId, maxInFlight]]));
  return jobId;
}

const release = (quantum = 10) => releaseTasks(db, { quantum, maxTenants: 100, leaseMs: 60_000 });

describe('releasing tasks', () => {
  it('serves every tenant each round, at most a quantum each, never beyond its window', async () => {
    const [a, b, c] = await Promise.all(['rr-a', 'rr-b', 'rr-c'].map((id) => createTenant(db, id, 'pro')));
    await admit(a!.id, 50, { maxInFlight: 15 });
    await admit(b!.id, 3);
    await admit(c!.id, 12);
    const first = await release(10);
    const count = (tasks: { tenantId: string }[], id: string) =>
      tasks.filter((t) => t.tenantId === id).length;
    expect([count(first, 'rr-a'), count(first, 'rr-b'), count(first, 'rr-c')]).toEqual([10, 3, 10]);
    const second = await release(10);
    expect([count(second, 'rr-a'), count(second, 'rr-b'), count(second, 'rr-c')]).toEqual([5, 0, 2]);
    expect(await release(10)).toEqual([]); // a's window (15) is full, the others are done
    await markPublished(
      db,
      [...first, ...second].map((t) => t.id),
    );
  });

  it("returns a round's tasks interleaved by tenant, so a small tenant's do not queue behind a large one's", async () => {
    const [large, small] = await Promise.all(
      ['mix-large', 'mix-small'].map((id) => createTenant(db, id, 'pro')),
    );
    await admit(large!.id, 6);
    await admit(small!.id, 2);
    const released = await release(10);
    expect(released.map((t) => t.tenantId)).toEqual([
      'mix-large',
      'mix-small',
      'mix-large',
      'mix-small',
      'mix-large',
      'mix-large',
      'mix-large',
      'mix-large',
    ]);
    await markPublished(
      db,
      released.map((t) => t.id),
    );
  });

  it("releases a tenant's high-priority job before its older normal job", async () => {
    const tenant = await createTenant(db, 'lanes', 'pro');
    const normal = await admit(tenant.id, 3);
    const urgent = await admit(tenant.id, 2, { laneRank: 0 });
    const released = await release(4);
    expect(released.map((t) => t.jobId)).toEqual([urgent, urgent, normal, normal]);
  });

  it('republishes a released task whose publisher died before recording it, and only that one', async () => {
    const tenant = await createTenant(db, 'crashy', 'pro');
    await admit(tenant.id, 2);
    const released = await releaseTasks(db, { quantum: 10, maxTenants: 100, leaseMs: 1 });
    const mine = released.filter((t) => t.tenantId === 'crashy');
    expect(mine).toHaveLength(2);
    await markPublished(db, [mine[0]!.id]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const reclaimed = (await reclaimUnpublished(db, 100, 60_000)).filter((t) => t.tenantId === 'crashy');
    expect(reclaimed.map((t) => t.id)).toEqual([mine[1]!.id]);
    expect(await reclaimUnpublished(db, 100, 60_000)).toEqual([]); // leased again, to us
  });

  it('offers tasks whose publishing failed again at once, but never ones already confirmed', async () => {
    const tenant = await createTenant(db, 'broker-away', 'pro');
    await admit(tenant.id, 2);
    const mine = (await releaseTasks(db, { quantum: 10, maxTenants: 100, leaseMs: 60_000 })).filter(
      (t) => t.tenantId === 'broker-away',
    );
    await markPublished(db, [mine[0]!.id]);
    await abandonLeases(
      db,
      mine.map((t) => t.id),
    );
    const again = (await reclaimUnpublished(db, 100, 60_000)).filter((t) => t.tenantId === 'broker-away');
    expect(again.map((t) => t.id)).toEqual([mine[1]!.id]);
  });

  it("waits for a tenant's row that a worker's transaction holds, instead of skipping the tenant", async () => {
    const tenant = await createTenant(db, 'held', 'pro');
    await admit(tenant.id, 3);
    let holderPid = 0;
    let rowLocked: () => void = () => {};
    const locked = new Promise<void>((resolve) => {
      rowLocked = resolve;
    });
    let endHolder: () => void = () => {};
    const ended = new Promise<void>((resolve) => {
      endHolder = resolve;
    });
    // As a worker's completeTask does: the tenant's row updated, held until the commit.
    const holder = db.transaction(async (tx) => {
      await tx.query(`UPDATE tenant_dispatch SET in_flight = in_flight WHERE tenant_id = 'held'`);
      holderPid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
      rowLocked();
      await ended;
    });
    await locked;
    const released = release(10);
    await until(
      async () =>
        (
          await db.query('SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [
            holderPid,
          ])
        ).length > 0,
      { what: "the release to wait for the held tenant's row" },
    );
    endHolder();
    await holder;
    const mine = (await released).filter((task) => task.tenantId === 'held');
    expect(mine).toHaveLength(3);
    await markPublished(
      db,
      mine.map((t) => t.id),
    );
  });
});

describe('result-event outbox', () => {
  it('leases events to one relay at a time and forgets them once deleted', async () => {
    await enqueueEvents(db, [
      { routingKey: 't.j.accepted', messageId: 'e1', body: '{}' },
      { routingKey: 't.j.rejected', messageId: 'e2', body: '{}' },
    ]);
    const claimed = await claimEvents(db, 10, 60_000);
    expect(claimed.map((e) => e.messageId)).toEqual(['e1', 'e2']);
    expect(await claimEvents(db, 10, 60_000)).toEqual([]);
    await deleteEvents(
      db,
      claimed.map((e) => e.id),
    );
    expect(await db.query('SELECT 1 FROM outbox')).toEqual([]);
  });

  it('offers events whose publishing failed again at once, not after the lease', async () => {
    await enqueueEvents(db, [{ routingKey: 't.j.accepted', messageId: 'e4', body: '{}' }]);
    const claimed = await claimEvents(db, 10, 60_000);
    expect(await claimEvents(db, 10, 60_000)).toEqual([]);
    await abandonEvents(
      db,
      claimed.map((e) => e.id),
    );
    expect((await claimEvents(db, 10, 60_000)).map((e) => e.messageId)).toEqual(['e4']);
    await deleteEvents(
      db,
      claimed.map((e) => e.id),
    );
  });

  it('hands an event claimed by a relay that crashed to the next one after the lease', async () => {
    await enqueueEvents(db, [{ routingKey: 't.j.accepted', messageId: 'e3', body: '{}' }]);
    expect(await claimEvents(db, 10, 1)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await claimEvents(db, 10, 60_000);
    expect(again.map((e) => e.messageId)).toEqual(['e3']);
  });
});

describe('nonce sweep', () => {
  it('deletes only nonces whose window has closed more than the grace period ago', async () => {
    await db.query(
      `INSERT INTO nonces (key_id, nonce, message_id, expires_at) VALUES
       ('k', 'old', 'm1', now() - interval '2 minutes'), ('k', 'live', 'm2', now() + interval '1 minute')`,
    );
    expect(await sweepNonces(db, 100)).toBe(1);
    expect(await db.query('SELECT nonce FROM nonces')).toEqual([{ nonce: 'live' }]);
  });
});
