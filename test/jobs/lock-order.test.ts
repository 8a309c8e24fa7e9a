import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import type { Queryable } from '../../src/db/database.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import { releaseTasks, taskOutbox } from '../../src/jobs/task-queue.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';
import { untilValue } from '../support/until.js';

// The lock order of docs/jobs.md ("Lock order") on the real database: a worker ending a task with
// a quota refund and an admission for the same tenant, interleaved at the one point where the old
// order (job, dispatch counter, image counters) deadlocked with admission's (image counters,
// dispatch counter). Both must commit.

let store: MigratedDatabase;
const catalog = modelCatalog({ defaultModel: 'u2net' });

beforeAll(async () => {
  store = await migratedDatabase('lock order');
});
afterAll(async () => store?.dispose());

async function tenantWithOneTaskInFlight(): Promise<{ tenant: string; taskId: string }> {
  const tenant = await store.tenant('pro');
  await addGrant(store.db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(store.db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
  const [decision] = await store.db.transaction((tx) =>
    admitBatch(tx, [trustedJobRequest(tenant, 'first')], context()),
  );
  expect(decision?.outcome).toBe('accepted');
  const released = await releaseTasks(store.db, { quantum: 10, maxTenants: 100, leaseMs: 60_000 });
  const task = released.find((t) => t.tenantId === tenant);
  if (!task) throw new Error(`no task of ${tenant} was released`);
  return { tenant, taskId: task.id };
}

// One clock for both admissions: the refund and the new reservation fall in the same windows.
const now = new Date();
const context = () => ({ now, catalog });

/** Holds a transaction's queries just before the first one matching `at`, until `go` is called. */
function gate(at: RegExp) {
  let reached!: () => void;
  let go!: () => void;
  const arrived = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    go = resolve;
  });
  let held = false;
  const wrap = (tx: Queryable): Queryable => ({
    async query(text, values) {
      if (!held && at.test(text)) {
        held = true;
        reached();
        await released;
      }
      return tx.query(text, values);
    },
  });
  return { arrived, go, wrap };
}

const settled = (promise: Promise<unknown>) =>
  promise.then(
    () => 'committed',
    (error: { code?: string; message?: string }) => `failed: ${error.code} ${error.message}`,
  );

/**
 * A worker fails its tenant's only task with a refund; its transaction is held just before the
 * statement matching `holdBefore` while an admission of a job of the same tenant runs until it
 * commits or waits for a lock; then the worker goes on. How each side ended, and whether the
 * admission had to wait.
 */
async function interleave(holdBefore: RegExp) {
  const { tenant, taskId } = await tenantWithOneTaskInFlight();
  const worker = gate(holdBefore);
  const completion = settled(
    store.db.transaction((tx) =>
      completeTask(
        worker.wrap(tx),
        { taskId, attempt: 1 },
        { status: 'failed', error: { code: 'unsupported_format', message: 'not an image' }, refund: true },
      ),
    ),
  );
  const reached = await Promise.race([worker.arrived.then(() => true), completion.then(() => false)]);
  if (!reached) throw new Error(`the completion ended without a statement matching ${holdBefore}`);

  let admissionPid: number | undefined;
  let admissionDone = false;
  const admission = settled(
    store.db.transaction(async (tx) => {
      admissionPid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
      return admitBatch(tx, [trustedJobRequest(tenant, 'second')], context());
    }),
  ).finally(() => {
    admissionDone = true;
  });
  const admissionWaited = await untilValue(
    async () => {
      if (admissionDone) return 'no';
      if (admissionPid === undefined) return undefined;
      const [row] = await store.db.query<{ wait: string | null }>(
        'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
        [admissionPid],
      );
      return row?.wait === 'Lock' ? 'yes' : undefined;
    },
    { what: 'the admission to commit or to wait for a lock the completion holds' },
  );
  worker.go();
  const ended = { completion: await completion, admission: await admission };
  const [counters] = await store.db.query<{ inFlight: number; pending: number; hourUsed: string }>(
    `SELECT d.in_flight AS "inFlight", d.pending, c.hour_used AS "hourUsed"
     FROM tenant_dispatch d JOIN image_counters c USING (tenant_id) WHERE tenant_id = $1`,
    [tenant],
  );
  return { ...ended, admissionWaited, counters };
}

// Both committed: the ended task's slot is free and its unit refunded; the new job's task waits
// for the dispatcher with its unit reserved.
const bothCommitted = {
  completion: 'committed',
  admission: 'committed',
  counters: { inFlight: 0, pending: 1, hourUsed: '1' },
};

describe('lock order: a refunding task completion and an admission of its tenant', () => {
  it('both commit when the worker is held before its refund (the old order deadlocked here)', async () => {
    // The old order held the dispatch counter here, which admission needs after the image
    // counters, and then wanted the image counters: PostgreSQL aborted one side with 40P01.
    expect(await interleave(/image_counters/)).toEqual({ ...bothCommitted, admissionWaited: 'no' });
  });

  it('both commit when the worker holds the image counters: the admission waits, then goes on', async () => {
    expect(await interleave(/^UPDATE tenant_dispatch/)).toEqual({ ...bothCommitted, admissionWaited: 'yes' });
  });
});

describe('lock order: the dispatcher releasing several rounds in one transaction', () => {
  it('a later round skips a tenant row an admission holds instead of waiting, so neither deadlocks', async () => {
    // Two tenants with one pending task each; the admission below locks their rows in tenant order.
    const [first, second] = [await store.tenant('pro'), await store.tenant('pro')].sort();
    for (const tenant of [first!, second!]) {
      await addGrant(store.db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
      await addGrant(store.db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
      await store.db.transaction((tx) => admitBatch(tx, [trustedJobRequest(tenant, 'pending')], context()));
    }
    // Round one serves only the later tenant (served longest ago), round two the earlier one (before
    // the other tests' tenants, which were served today).
    await store.db.query(
      `UPDATE tenant_dispatch
       SET last_released_at = CASE tenant_id WHEN $1 THEN '1970-01-01'::timestamptz ELSE '-infinity' END
       WHERE tenant_id IN ($1, $2)`,
      [first, second],
    );
    const options = { quantum: 1, maxTenants: 1, leaseMs: 60_000 };

    let admissionPid: number | undefined;
    let admission: Promise<string> | undefined;
    const rounds = settled(
      taskOutbox(store.db).releasing(async (release) => {
        const roundOne = await release(options);
        // The admission locks the earlier tenant's rows, then waits for the later one's, which
        // round one holds.
        admission = settled(
          store.db.transaction(async (tx) => {
            admissionPid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
            return admitBatch(
              tx,
              [trustedJobRequest(first!, 'more'), trustedJobRequest(second!, 'more')],
              context(),
            );
          }),
        );
        await untilValue(
          async () => {
            if (admissionPid === undefined) return undefined;
            const [row] = await store.db.query<{ wait: string | null }>(
              'SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
              [admissionPid],
            );
            return row?.wait === 'Lock' ? true : undefined;
          },
          { what: 'the admission to wait for the tenant row round one holds' },
        );
        const roundTwo = await release(options);
        expect(roundOne.map((task) => task.tenantId)).toEqual([second]);
        expect(roundTwo).toEqual([]);
      }),
    );
    expect(await rounds).toBe('committed');
    expect(await admission).toBe('committed');
    // The skipped tenant's task is released by the next round, now that nothing holds its row.
    const next = await taskOutbox(store.db).releasing((release) => release(options));
    expect(next.map((task) => task.tenantId)).toEqual([first]);
  });
});
