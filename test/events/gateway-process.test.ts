import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { taskSchema } from '../../src/contracts/task.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { createGatewayHarness, type GatewayHarness } from '../gateway/harness.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { until } from '../support/until.js';
import { minioEvent, publishEvents } from './event-messages.js';

// `npm run gateway` (workers/gateway.ts) runs the event consumer beside the gateway by default:
// an S3 event published to the events exchange comes out as a task, with no other process running.

let h: GatewayHarness;
let child: ServiceProcess | undefined;

beforeAll(async () => {
  h = await createGatewayHarness('events gateway process');
  const tenant = await h.tenant();
  await h.grant(tenant, 'photos-in', '', 'read');
  await h.grant(tenant, 'photos-out', '', 'write');
  await addTrigger(h.db, {
    tenantId: tenant,
    bucket: 'photos-in',
    prefix: '',
    suffixes: [],
    output: { bucket: 'photos-out', prefix: '' },
  });
});
afterAll(async () => {
  if (child?.child.exitCode === null) child.child.kill('SIGKILL');
  await h?.dispose();
});

const startGatewayProcess = (env: Environment = {}) =>
  startServiceProcess(
    ['workers/gateway.ts'],
    { ...h.environment.env, CLEARCUT_DISPATCH_INTERVAL: '50ms', ...env },
    'gateway started',
  );

it('consumes S3 events inside the gateway process and drains on SIGTERM', async () => {
  child = await startGatewayProcess();
  expect(child.output()).toContain('S3 event consumer started');
  await publishEvents(h.broker, [minioEvent({ bucket: 'photos-in', key: 'a b/c.jpg', eTag: 'e1' })]);
  await until(async () => (await h.broker.depth(h.broker.names.tasksQueue)) >= 1, {
    timeoutMs: 20_000,
    what: 'the task of the S3 event',
  });
  const [message] = await h.broker.drain(h.broker.names.tasksQueue);
  expect(taskSchema.parse(message!.json()).source).toEqual({ bucket: 'photos-in', key: 'a b/c.jpg' });
  // Its metrics are served on the gateway's port, beside the gateway's own.
  const { httpPort } = child.logLine('gateway started') as { httpPort: number };
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  expect(metrics).toContain('clearcut_events_records_total{outcome="accepted",role="gateway"} 1');
  expect(metrics).toContain('clearcut_gateway_tasks_published_total');
  expect(await child.stop()).toBe(0);
  expect(await h.broker.depth(h.broker.names.eventsQueue)).toBe(0);
});

it('leaves the events queue alone with CLEARCUT_GATEWAY_EVENTS=false', async () => {
  child = await startGatewayProcess({ CLEARCUT_GATEWAY_EVENTS: 'false' });
  expect(await child.stop()).toBe(0);
  expect(child.output()).not.toContain('S3 event consumer');
});
