import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { minioEvent, publishEvents } from '../events/event-messages.js';
import { createGatewayHarness, type GatewayHarness, type TestKey } from '../gateway/harness.js';
import { encode, rectangleScene } from '../support/images.js';
import { syntheticModel } from '../support/models.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { untilValue } from '../support/until.js';
import { workerEnv } from './pipeline-harness.js';

// What an operator sees: a gateway, a worker and a standalone `clearcut events` run as processes,
// and `curl` on their ports shows /readyz answering and the counters moving while a job runs.

const images = 8;
const run = promisify(execFile);
let h: GatewayHarness;
let s3: TestS3;
let env: Environment;
let input: string;
let output: string;
let key: TestKey;
let gateway: ServiceProcess | undefined;
let worker: ServiceProcess | undefined;
let events: ServiceProcess | undefined;
let hasCurl = false;

beforeAll(async () => {
  await syntheticModel('u2netp'); // built once into .cache/, where workerEnv's model dir points
  s3 = await startTestS3();
  h = await createGatewayHarness('metrics ports', { ...s3.env, ...workerEnv });
  // The standalone event consumer is the only one on the events queue.
  env = { ...h.environment.env, CLEARCUT_GATEWAY_EVENTS: 'false' };
  input = await s3.createBucket('in');
  output = await s3.createBucket('out');
  const tenant = await h.tenant();
  await h.quota(tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
  await h.grant(tenant, input, '', 'read');
  await h.grant(tenant, output, '', 'write');
  key = await h.key(tenant);
  hasCurl = await run('curl', ['--version']).then(
    () => true,
    () => false,
  );
  [gateway, worker] = await Promise.all([
    startServiceProcess(
      ['workers/gateway.ts'],
      { ...env, CLEARCUT_GATEWAY_HTTP_PORT: '0' },
      'gateway started',
    ),
    startServiceProcess(['workers/inference.ts'], { ...env, CLEARCUT_HTTP_PORT: '0' }, 'worker started'),
  ]);
}, 120_000);

afterAll(async () => {
  for (const child of [gateway, worker, events]) await child?.stop();
  await h?.dispose();
  await s3?.stop();
});

/**
 * GET as an operator would: `curl -sf` (fails on a status of 400 or more). CI images without curl
 * (.ci/run does not install it) fall back to fetch, with the same contract.
 */
async function get(service: ServiceProcess, message: string, path: string): Promise<string> {
  const url = `http://127.0.0.1:${service.logLine(message)!.httpPort as number}${path}`;
  if (hasCurl) return (await run('curl', ['-sf', url])).stdout;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.text();
}

const gatewayGet = (path: string) => get(gateway!, 'gateway started', path);
const workerGet = (path: string) => get(worker!, 'worker started', path);
const eventsGet = (path: string) => get(events!, 'S3 event consumer started', path);

/** The sample of `name` whose labels include `labels`, from Prometheus text; 0 when not yet there. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([label, value]) => found.get(label) === value)) return Number(match[3]);
  }
  return 0;
}

const gatewayCounters = (text: string) => ({
  accepted: sample(text, 'clearcut_gateway_messages_total', { outcome: 'accepted' }),
  published: sample(text, 'clearcut_gateway_tasks_published_total', { lane: 'normal' }),
});
const workerCounters = (text: string) => ({
  succeeded: sample(text, 'clearcut_worker_tasks_total', { result: 'succeeded' }),
  inferences: sample(text, 'clearcut_worker_inference_seconds_count'),
  inFlight: sample(text, 'clearcut_worker_tasks_in_flight'),
});

async function upload(name: string, shade: number): Promise<{ eTag: string }> {
  const scene = rectangleScene({
    width: 64,
    height: 64,
    subject: { left: 16, top: 16, width: 32, height: 32 },
    background: [shade, 90, 40],
  });
  return s3.store.put(input, name, await encode(scene.rgb, 64, 64, 3, 'png'), { contentType: 'image/png' });
}

it('shows the gateway and worker counters moving during a job, on their metrics ports', async () => {
  expect(JSON.parse(await gatewayGet('/readyz'))).toMatchObject({ ready: true });
  // A started worker answers at once but is ready only once its model is loaded and it consumes.
  await untilValue(async () => (await workerGet('/readyz').catch(() => null)) !== null, {
    what: 'the worker to report ready (model loaded, consuming)',
    timeoutMs: 60_000,
  });
  expect(JSON.parse(await workerGet('/readyz'))).toMatchObject({ ready: true });
  const gatewayBefore = gatewayCounters(await gatewayGet('/metrics'));
  const workerBefore = workerCounters(await workerGet('/metrics'));

  const keys = Array.from({ length: images }, (_, i) => `job/${i}.png`);
  await Promise.all(keys.map((name, i) => upload(name, i * 30)));
  const job = h.signed(key, {
    version: 1,
    input: { bucket: input, keys },
    output: { bucket: output, prefix: 'out/' },
    renditions: [{ kind: 'mask', format: 'png' }],
    model: 'u2netp',
  });
  await h.publish(job);
  expect(await h.decision(job.messageId)).toMatchObject({ kind: 'accepted' });

  // Scrape the worker while it works, until every task has been counted.
  const during: ReturnType<typeof workerCounters>[] = [];
  await untilValue(
    async () => {
      const now = workerCounters(await workerGet('/metrics'));
      during.push(now);
      return now.succeeded - workerBefore.succeeded >= images;
    },
    { what: 'the worker to count every task', timeoutMs: 120_000 },
  );
  expect(during.some((s) => s.inFlight > 0)).toBe(true);
  const partWay = during.filter(
    (s) => s.succeeded > workerBefore.succeeded && s.succeeded < workerBefore.succeeded + images,
  );
  expect(partWay.length).toBeGreaterThan(0);

  const gatewayAfter = gatewayCounters(await gatewayGet('/metrics'));
  // A task is counted before its ack (and the job's finalisation) ends its time in flight.
  const workerAfter = await untilValue(
    async () => {
      const now = workerCounters(await workerGet('/metrics'));
      return now.inFlight === 0 && now;
    },
    { what: 'the worker to ack its last task', timeoutMs: 60_000 },
  );
  expect(gatewayAfter.accepted - gatewayBefore.accepted).toBe(1);
  expect(gatewayAfter.published - gatewayBefore.published).toBe(images);
  expect(workerAfter.succeeded - workerBefore.succeeded).toBe(images);
  expect(workerAfter.inferences - workerBefore.inferences).toBe(images);
  expect(JSON.parse(await gatewayGet('/readyz'))).toMatchObject({ ready: true });
  expect(JSON.parse(await workerGet('/readyz'))).toMatchObject({ ready: true });
}, 180_000);

it('gives a standalone `clearcut events` its own probes and an event counter that moves', async () => {
  // Alone: its dispatcher is then the only one releasing tasks, so its publish counter is exact.
  expect(await gateway!.stop()).toBe(0);
  events = await startServiceProcess(
    ['bin/clearcut.js', 'events'],
    { ...env, CLEARCUT_EVENTS_HTTP_PORT: '0' },
    'S3 event consumer started',
  );
  expect(await eventsGet('/healthz')).toBe('ok\n');
  expect(JSON.parse(await eventsGet('/readyz'))).toEqual({
    ready: true,
    checks: { broker: true, database: true },
  });
  const metrics = await eventsGet('/metrics');
  expect(metrics).toContain('clearcut_process_cpu_seconds_total{role="events"}');
  expect(sample(metrics, 'clearcut_events_records_total')).toBe(0);

  await addTrigger(h.db, {
    tenantId: key.tenantId,
    bucket: input,
    prefix: 'drop/',
    suffixes: ['.png'],
    output: { bucket: output, prefix: 'triggered/' },
    renditions: [{ kind: 'mask', format: 'png' }],
    model: 'u2netp',
  });
  const object = {
    bucket: input,
    key: 'drop/new arrival.png',
    ...(await upload('drop/new arrival.png', 200)),
  };
  const records = async (outcome: string) =>
    sample(await eventsGet('/metrics'), 'clearcut_events_records_total', { outcome });
  await publishEvents(h.broker, [minioEvent(object)]);
  await untilValue(async () => (await records('accepted')) === 1, {
    what: 'the event to be counted as accepted',
    timeoutMs: 60_000,
  });
  // The same object version again, and a body that is not JSON.
  await publishEvents(h.broker, [minioEvent(object), '{not json']);
  await untilValue(async () => (await records('duplicate')) === 1 && (await records('malformed')) === 1, {
    what: 'the duplicate and the malformed message to be counted',
    timeoutMs: 60_000,
  });
  const text = await eventsGet('/metrics');
  expect(sample(text, 'clearcut_events_records_total', { outcome: 'accepted' })).toBe(1);
  await untilValue(
    async () =>
      sample(await eventsGet('/metrics'), 'clearcut_events_tasks_published_total', { lane: 'normal' }) === 1,
    { what: 'its dispatcher to release the task', timeoutMs: 60_000 },
  );
}, 60_000);
