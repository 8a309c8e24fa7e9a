import { afterAll, beforeAll, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import { releaseTasks } from '../../src/jobs/task-queue.js';
import { reopenFailedTask } from '../../src/jobs/task-rows.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { trustedJobRequest } from '../support/trusted-job-request.js';

// `clearcut dlq replay` reopens a failed task on the real database: queued again under a lease,
// counted as pending on its job and in flight for its tenant, and with the stuck-task sweeper's
// hand-backs counted afresh, so a task failed after two of them gets two again.

let store: MigratedDatabase;
const catalog = modelCatalog({ defaultModel: 'u2net' });

beforeAll(async () => {
  store = await migratedDatabase('reopen task');
});
afterAll(async () => store?.dispose());

it('reopens a failed task with its stuck hand-backs counted afresh', async () => {
  const tenant = await store.tenant('pro');
  await addGrant(store.db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(store.db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
  await store.db.transaction((tx) =>
    admitBatch(tx, [trustedJobRequest(tenant, 'stuck')], { now: new Date(), catalog }),
  );
  const [task] = await releaseTasks(store.db, { quantum: 10, maxTenants: 100, leaseMs: 60_000 });
  // Handed back twice by the sweeper, then failed for good (as publishing.ts does).
  await store.db.query('UPDATE tasks SET stuck_requeues = 2 WHERE id = $1', [task!.id]);
  await store.db.transaction((tx) =>
    completeTask(
      tx,
      { taskId: task!.id, attempt: 3 },
      { status: 'failed', error: { code: 'internal_error', message: 'stuck' } },
    ),
  );

  const before = await reopenFailedTask(store.db, { taskId: task!.id, tenant, jobId: 'stuck' }, 60_000);

  expect(before).toBe('failed');
  const [row] = await store.db.query(
    'SELECT status, error_code, stuck_requeues, lease_until > now() AS leased FROM tasks WHERE id = $1',
    [task!.id],
  );
  expect(row).toEqual({ status: 'queued', error_code: null, stuck_requeues: 0, leased: true });
  const [job] = await store.db.query('SELECT state, failed FROM jobs WHERE tenant_id = $1', [tenant]);
  expect(job).toEqual({ state: 'running', failed: 0 });
  const [window] = await store.db.query('SELECT in_flight FROM tenant_dispatch WHERE tenant_id = $1', [
    tenant,
  ]);
  expect(window).toEqual({ in_flight: 1 });
});
