import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Task } from '../../src/contracts/task.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from '../gateway/harness.js';
import { until } from '../support/until.js';

// A task whose message never reaches a worker's ack: lost with a broker node, or dead-lettered
// after crashing every worker that took it. Its row stayed `queued` and its tenant's in-flight
// slot stayed taken for good, so a tenant with a window of one never ran anything again. The
// stuck-task sweeper (CLEARCUT_TASK_STUCK_AFTER) hands it back to the dispatcher.

let h: GatewayHarness;

beforeAll(async () => {
  h = await createGatewayHarness('stuck task', { CLEARCUT_TASK_STUCK_AFTER: '1s' });
  await h.startGateway();
});
afterAll(async () => h?.dispose());

const dispatchOf = async (tenant: string) =>
  (
    await h.db.query<{ pending: number; in_flight: number }>(
      'SELECT pending, in_flight FROM tenant_dispatch WHERE tenant_id = $1',
      [tenant],
    )
  )[0];

// Drained but not yet looked at: on a slow machine the sweeper may hand a task back again before
// the test drains the queue, so a drain can hold more than one message and none may be dropped.
const drained: Task[] = [];

async function nextTask(): Promise<Task> {
  await until(
    async () => {
      if (drained.length === 0) {
        drained.push(
          ...(await h.broker.drain(h.broker.names.tasksQueue)).map((message) => message.json() as Task),
        );
      }
      return drained.length > 0;
    },
    { what: 'a task on the queue' },
  );
  return drained.shift()!;
}

it('requeues a task lost in flight and frees its slot, so the tenant runs again', async () => {
  const tenant = await h.tenant('pro');
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'cutouts', '', 'write');
  await h.quota(tenant, { maxInFlight: 1 });
  const job = h.signed(
    await h.key(tenant),
    jobBody('catalog', ['a.jpg', 'b.jpg'], { bucket: 'cutouts', prefix: 'out/' }),
  );
  await h.publish(job);
  expect((await h.decision(job.messageId)).kind).toBe('accepted');

  // The first task is released and published, then lost: taken off the queue, never completed.
  const lost = await nextTask();
  expect(lost.item).toBe(0);
  expect(await dispatchOf(tenant)).toEqual({ pending: 1, in_flight: 1 });

  // After CLEARCUT_TASK_STUCK_AFTER it is published again; the window still holds one task.
  const again = await nextTask();
  expect(again).toMatchObject({ taskId: lost.taskId, item: 0 });
  expect(await dispatchOf(tenant)).toEqual({ pending: 1, in_flight: 1 });
  const [row] = await h.db.query<{ status: string }>('SELECT status FROM tasks WHERE id = $1', [lost.taskId]);
  expect(row?.status).toBe('queued');
});

it('fails a task that is lost every time it is handed back, so the job goes on', async () => {
  const tenant = await h.tenant('pro');
  await h.grant(tenant, 'catalog', '', 'read');
  await h.grant(tenant, 'cutouts', '', 'write');
  await h.quota(tenant, { maxInFlight: 1 });
  const job = h.signed(
    await h.key(tenant),
    jobBody('catalog', ['a.jpg', 'b.jpg'], { bucket: 'cutouts', prefix: 'out/' }),
  );
  await h.publish(job);
  expect((await h.decision(job.messageId)).kind).toBe('accepted');
  const mine = async () => {
    for (;;) {
      const task = await nextTask();
      if (task.tenant === tenant) return task;
    }
  };

  // Published, then handed back twice: lost each time (as a poison task dead-lettered each time).
  const first = await mine();
  for (let requeue = 1; requeue <= 2; requeue++) {
    expect(await mine()).toMatchObject({ taskId: first.taskId });
  }
  // The third time it is failed instead, and the tenant's window takes the next task.
  expect(await mine()).toMatchObject({ item: 1 });
  const [row] = await h.db.query<{ status: string; error_code: string; error_message: string }>(
    'SELECT status, error_code, error_message FROM tasks WHERE id = $1',
    [first.taskId],
  );
  expect(row).toMatchObject({ status: 'failed', error_code: 'internal_error' });
  expect(row?.error_message).toMatch(/handed back to the workers 2 times/);
  expect(await dispatchOf(tenant)).toEqual({ pending: 0, in_flight: 1 });
});
