import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from './harness.js';

// Two gateways compete for one inbox while a tenant floods it: quotas are single atomic statements
// inside each batch transaction, so together they never admit more than the tenant's limits.

let h: GatewayHarness;
let ports: number[];
beforeAll(async () => {
  h = await createGatewayHarness('flood', {
    CLEARCUT_GATEWAY_BATCH_SIZE: '7',
    CLEARCUT_GATEWAY_BATCH_WINDOW: '1ms',
  });
  ports = [(await h.startGateway()).httpPort, (await h.startGateway()).httpPort];
});
afterAll(async () => h?.dispose());

async function flood(limits: Parameters<GatewayHarness['quota']>[1], jobs: number) {
  const tenant = await h.tenant('pro');
  await h.grant(tenant, 'in-bucket', '', 'read');
  await h.grant(tenant, 'out-bucket', '', 'write');
  await h.quota(tenant, limits);
  const key = await h.key(tenant);
  const messages = Array.from({ length: jobs }, (_, i) =>
    h.signed(key, jobBody('in-bucket', [`${i}.jpg`], { bucket: 'out-bucket', prefix: '' })),
  );
  await Promise.all(messages.map((message) => h.publish(message)));
  const events = await Promise.all(messages.map((message) => h.decision(message.messageId)));
  const count = (predicate: (event: ResultEvent) => boolean) => events.filter(predicate).length;
  const [admitted] = await h.db.query<{ jobs: number; tasks: number }>(
    `SELECT count(DISTINCT j.id)::int AS jobs, count(t.id)::int AS tasks
     FROM jobs j LEFT JOIN tasks t ON t.tenant_id = j.tenant_id AND t.job_id = j.id WHERE j.tenant_id = $1`,
    [tenant],
  );
  return { events, count, admitted };
}

it('admits exactly the burst of the token bucket, whatever the concurrency', async () => {
  const { count, admitted } = await flood({ jobsPerMinute: 1, burst: 10 }, 60);
  expect(count((e) => e.kind === 'accepted')).toBe(10);
  expect(count((e) => e.kind === 'rejected' && e.reason === 'rate_limited')).toBe(50);
  expect(admitted).toEqual({ jobs: 10, tasks: 10 });
});

it('admits exactly the daily image quota, whatever the concurrency', async () => {
  const { count, admitted } = await flood(
    { jobsPerMinute: null, burst: null, imagesPerDay: 25, imagesPerHour: null },
    40,
  );
  expect(count((e) => e.kind === 'accepted')).toBe(25);
  expect(count((e) => e.kind === 'rejected' && e.reason === 'quota_exceeded')).toBe(15);
  expect(admitted).toEqual({ jobs: 25, tasks: 25 });
});

it('shared the flood between both gateways, as their metrics show', async () => {
  for (const port of ports) {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const decided = [...metrics.matchAll(/^clearcut_gateway_messages_total\{.*\} (\d+)$/gm)].map((m) =>
      Number(m[1]),
    );
    expect(decided.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
  }
});
