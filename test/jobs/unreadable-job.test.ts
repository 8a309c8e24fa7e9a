import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { taskSchema } from '../../src/contracts/task.js';
import { dispatchRound } from '../../src/jobs/dispatcher.js';
import { taskOutbox, type UnreadableJob } from '../../src/jobs/task-queue.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import type { OutboundMessage } from '../../src/queue/bus.js';
import { topologyNames } from '../../src/queue/topology.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';

// A job whose stored spec no longer matches the job contract (its row changed by hand, or a
// contract tightened by an upgrade after admission) on the real database: the dispatcher fails
// that job's tasks with invalid_job and publishes every other tenant's, instead of failing each
// round and so holding every tenant's tasks back for good.

let store: MigratedDatabase;
const catalog = modelCatalog({ defaultModel: 'u2net' });

beforeAll(async () => {
  store = await migratedDatabase('unreadable job');
});
afterAll(async () => store?.dispose());

async function tenantWithOneJob(jobId: string): Promise<string> {
  const tenant = await store.tenant('pro');
  await addGrant(store.db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(store.db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
  const [decision] = await store.db.transaction((tx) =>
    admitBatch(tx, [trustedJobRequest(tenant, jobId)], { now: new Date(), catalog }),
  );
  expect(decision?.outcome).toBe('accepted');
  return tenant;
}

describe('a job whose stored spec fails the job contract', () => {
  it("has its tasks failed with invalid_job while the other tenants' tasks are published", async () => {
    const broken = await tenantWithOneJob('edited');
    const healthy = await tenantWithOneJob('fine');
    await store.db.query(`UPDATE jobs SET spec = spec || '{"colour": "red"}' WHERE tenant_id = $1`, [broken]);
    const published: OutboundMessage[] = [];
    const reported: [UnreadableJob, number][] = [];
    const round = () =>
      dispatchRound(taskOutbox(store.db), {
        quantum: 10,
        maxTenants: 100,
        leaseMs: 60_000,
        names: topologyNames('unreadable'),
        publisher: { publish: async (messages) => void published.push(...messages), close: async () => {} },
        onUnreadableJob: (job, tasks) => reported.push([job, tasks]),
      });

    expect(await round()).toBe(2);
    const tenants = published.map((message) => taskSchema.parse(JSON.parse(message.body.toString())).tenant);
    expect(tenants).toEqual([healthy]);
    expect(reported).toEqual([
      [
        {
          tenantId: broken,
          jobId: 'edited',
          problem: `jobs.spec of job ${broken}/edited does not match its contract: (value): Unrecognized key: "colour"`,
        },
        1,
      ],
    ]);

    const [task] = await store.db.query<{ status: string; error_code: string; error_message: string }>(
      'SELECT status, error_code, error_message FROM tasks WHERE tenant_id = $1',
      [broken],
    );
    expect(task).toEqual({
      status: 'failed',
      error_code: 'invalid_job',
      error_message: `jobs.spec of job ${broken}/edited does not match its contract: (value): Unrecognized key: "colour"; its tasks were failed instead of published`,
    });
    const [job] = await store.db.query('SELECT state, failed FROM jobs WHERE tenant_id = $1', [broken]);
    expect(job).toEqual({ state: 'completed', failed: 1 });
    // Its window slot is free again and its event says why, for the producer.
    const [window] = await store.db.query('SELECT in_flight FROM tenant_dispatch WHERE tenant_id = $1', [
      broken,
    ]);
    expect(window).toEqual({ in_flight: 0 });
    const events = await store.db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE body::jsonb ->> 'tenant' = $1 AND body::jsonb ? 'error'`,
      [broken],
    );
    expect(events.map((event) => JSON.parse(event.body).error.code)).toEqual(['invalid_job']);

    // Nothing is left to retry: the next round has nothing to release or reclaim.
    expect(await round()).toBe(0);
    expect(published).toHaveLength(1);
  });
});
