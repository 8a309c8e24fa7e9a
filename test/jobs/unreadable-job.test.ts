import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { taskSchema } from '../../src/contracts/task.js';
import { dispatchRound } from '../../src/jobs/dispatcher.js';
import { finalizeJob } from '../../src/jobs/job-finalizer.js';
import { taskOutbox } from '../../src/jobs/task-queue.js';
import type { UnreadableJob } from '../../src/jobs/unreadable-jobs.js';
import { createLogger } from '../../src/log.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import type { OutboundMessage } from '../../src/queue/bus.js';
import { topologyNames } from '../../src/queue/topology.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';

// A job whose stored spec no longer matches the job contract (its row changed by hand, or a
// contract tightened by an upgrade after admission) on the real database: the dispatcher publishes
// every other tenant's tasks, leaves a young such job to other (perhaps newer) gateways, and fails
// an old one's tasks with invalid_job, instead of failing each round and so holding every
// tenant's tasks back for good. Its finaliser then completes it without a manifest.

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
  it("leaves a young one's tasks leased, fails an old one's with invalid_job, publishes the others", async () => {
    const broken = await tenantWithOneJob('edited');
    const young = await tenantWithOneJob('newer');
    const healthy = await tenantWithOneJob('fine');
    await store.db.query(
      `UPDATE jobs SET spec = spec || '{"colour": "red"}',
         created_at = CASE WHEN tenant_id = $1 THEN now() - interval '1 hour' ELSE created_at END
       WHERE tenant_id IN ($1, $2)`,
      [broken, young],
    );
    const published: OutboundMessage[] = [];
    const reported: [UnreadableJob, number, boolean][] = [];
    const round = () =>
      dispatchRound(taskOutbox(store.db), {
        quantum: 10,
        maxTenants: 100,
        leaseMs: 60_000,
        names: topologyNames('unreadable'),
        publisher: { publish: async (messages) => void published.push(...messages), close: async () => {} },
        onUnreadableJob: (job, tasks, failed) => reported.push([job, tasks, failed]),
      });

    expect(await round()).toBe(3);
    const tenants = published.map((message) => taskSchema.parse(JSON.parse(message.body.toString())).tenant);
    expect(tenants).toEqual([healthy]);
    const problem = (tenant: string, job: string) =>
      `jobs.spec of job ${tenant}/${job} does not match its contract: (value): Unrecognized key: "colour"`;
    expect(reported.map(([job, tasks, failed]) => [job.tenantId, job.problem, tasks, failed])).toEqual([
      [broken, problem(broken, 'edited'), 1, true],
      [young, problem(young, 'newer'), 1, false],
    ]);

    const tasks = await store.db.query<{ tenant_id: string; status: string; error_code: string | null }>(
      `SELECT tenant_id, status, error_code, error_message, published_at IS NOT NULL AS published
       FROM tasks WHERE tenant_id IN ($1, $2) ORDER BY tenant_id = $1 DESC`,
      [broken, young],
    );
    expect(tasks).toEqual([
      {
        tenant_id: broken,
        status: 'failed',
        error_code: 'invalid_job',
        error_message: `${problem(broken, 'edited')}; its tasks were failed instead of published: submit the job again (admission names anything this release refuses in it)`,
        published: false,
      },
      // Still leased: once the lease runs out any dispatcher takes it again.
      { tenant_id: young, status: 'queued', error_code: null, error_message: null, published: false },
    ]);
    const [job] = await store.db.query('SELECT state, failed FROM jobs WHERE tenant_id = $1', [broken]);
    expect(job).toEqual({ state: 'completed', failed: 1 });
    // Its window slot is free again and its event says why, for the producer.
    const windows = await store.db.query(
      'SELECT in_flight FROM tenant_dispatch WHERE tenant_id IN ($1, $2) ORDER BY tenant_id = $1 DESC',
      [broken, young],
    );
    expect(windows).toEqual([{ in_flight: 0 }, { in_flight: 1 }]);
    const events = await store.db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE body::jsonb ->> 'tenant' = $1 AND body::jsonb ? 'error'`,
      [broken],
    );
    expect(events.map((event) => JSON.parse(event.body).error.code)).toEqual(['invalid_job']);

    // Nothing is left to retry within the lease: the next round has nothing to release or reclaim.
    expect(await round()).toBe(0);
    expect(published).toHaveLength(1);

    // The finaliser completes the old job without a manifest (its spec names no output it can trust).
    const refused = { put: () => Promise.reject(new Error('no manifest may be written')) };
    const options = { db: store.db, store: refused as never, log: createLogger('silent') };
    expect(await finalizeJob(options, { tenantId: broken, jobId: 'edited' })).toBe(true);
    const [finalized] = await store.db.query(
      'SELECT finalized_at IS NOT NULL AS finalized, manifest_key, manifest_error FROM jobs WHERE tenant_id = $1',
      [broken],
    );
    expect(finalized).toEqual({
      finalized: true,
      manifest_key: null,
      manifest_error: `no results manifest: ${problem(broken, 'edited')}`,
    });
  });
});
