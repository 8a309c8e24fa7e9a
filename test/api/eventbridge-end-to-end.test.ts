import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiService, startApi } from '../../src/api/service.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { PipelineHarness } from '../e2e/pipeline-harness.js';
import { createTriggerPipeline, type TriggerPipeline } from '../events/trigger-pipeline.js';
import { eventSourceKey, eventToken, objectCreated, postEvent } from './eventbridge-support.js';

// Amazon S3 → EventBridge → POST /v1/events/s3 → cutout, with nobody publishing a job: an image
// uploaded to the embedded S3 server, its "Object Created" event POSTed as an API destination
// does, the gateway releasing the task over RabbitMQ and a worker writing the cutout into the SAME
// bucket, whose events for that output must then change nothing.

let p: PipelineHarness;
let api: ApiService;
let base: string;
let bucket: string;
let tenant: string;
let token: string;
let upload: TriggerPipeline['upload'];

beforeAll(async () => {
  ({ p, bucket, tenant, upload } = await createTriggerPipeline('eventbridge e2e'));
  api = await startApi(loadConfig({ ...p.env, CLEARCUT_API_PORT: '0' }), { log: createLogger('silent') });
  base = `http://127.0.0.1:${api.port}`;
  token = await eventToken(base, await eventSourceKey(p.h, tenant));
  await p.startWorker();
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await p?.dispose();
});

it('cuts out an uploaded image from its EventBridge event, once, and ignores the events of its own output', async () => {
  const key = 'new arrivals/red shoe.png';
  const { eTag } = await upload(key, 200);
  const event = objectCreated({ bucket, key, etag: eTag });
  const admitted = await postEvent(base, token, event);
  expect(admitted.status).toBe(202);
  const [job] = ((await admitted.json()) as { jobs: { jobId: string }[] }).jobs;
  // EventBridge delivers at least once: the same event again changes nothing.
  expect((await postEvent(base, token, event)).status).toBe(200);

  expect(await p.waitForJob(tenant, job!.jobId, 60_000)).toMatchObject({ state: 'completed' });
  const keys = (await p.keys(bucket)).filter((k) => !k.includes('/_clearcut/'));
  expect(keys.sort()).toEqual(['cutouts/new arrivals/red shoe.cutout.png', key].sort());

  // S3 now reports the cutout it stored; loop protection ignores it.
  const output = await postEvent(
    base,
    token,
    objectCreated({ bucket, key: 'cutouts/new arrivals/red shoe.cutout.png' }),
  );
  expect(output.status).toBe(200);
  expect(await output.json()).toMatchObject({ outcome: 'ignored_own_output' });
  const jobs = await p.h.db.query<{ id: string }>('SELECT id FROM jobs WHERE tenant_id = $1', [tenant]);
  expect(jobs.map((j) => j.id)).toEqual([job!.jobId]);
});
