import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type EventService, startEventService } from '../../src/events/service.js';
import { createLogger } from '../../src/log.js';
import { createMetricsRegistry } from '../../src/ops/metrics.js';
import type { PipelineHarness } from '../e2e/pipeline-harness.js';
import { untilValue } from '../support/until.js';
import { awsEvent, minioEvent, publishEvents } from './event-messages.js';
import { createTriggerPipeline, type TriggerPipeline } from './trigger-pipeline.js';

// Storage → pipeline with nobody publishing a job: S3 event notifications for images uploaded to
// the embedded S3 server go through the events exchange, a trigger rule admits them, the gateway
// releases their tasks and a worker writes the cutouts — into the SAME bucket, whose notifications
// for those outputs must then change nothing.

let p: PipelineHarness;
let events: EventService;
let bucket: string;
let tenant: string;
let upload: TriggerPipeline['upload'];

const jobsOf = () =>
  p.h.db.query<{ id: string; state: string; key_id: string | null }>(
    'SELECT id, state, key_id FROM jobs WHERE tenant_id = $1 ORDER BY created_at, id',
    [tenant],
  );

beforeAll(async () => {
  ({ p, bucket, tenant, upload } = await createTriggerPipeline('events e2e'));
  const config = loadConfig(p.env);
  events = await startEventService(config, {
    log: createLogger('silent'),
    dispatch: false, // the harness's gateway releases the tasks, as in the gateway process
    ops: { registry: createMetricsRegistry('gateway') },
  });
  await p.startWorker();
}, 120_000);

afterAll(async () => {
  await events?.stop();
  await p?.dispose();
});

it('processes uploaded images end to end, once each, and never loops on its own outputs', async () => {
  const shoe = await upload('new arrivals/red shoe.png', 200);
  const hat = await upload('hat.png', 100);
  await publishEvents(p.h.broker, [minioEvent(shoe), awsEvent([hat]), minioEvent(shoe)]);

  await untilValue(
    async () => {
      const jobs = await jobsOf();
      return jobs.length === 2 && jobs.every((job) => job.state === 'completed');
    },
    { what: 'both trigger jobs to complete', timeoutMs: 60_000 },
  );
  const keys = await p.keys(bucket);
  // The job finaliser also writes a results manifest per job under cutouts/_clearcut/.
  expect(keys.filter((key) => !key.includes('/_clearcut/')).sort()).toEqual(
    [
      'cutouts/hat.cutout.png',
      'cutouts/new arrivals/red shoe.cutout.png',
      'hat.png',
      'new arrivals/red shoe.png',
    ].sort(),
  );
  expect((await jobsOf()).every((job) => job.key_id === null)).toBe(true);

  // MinIO now notifies about the outputs it stored; a later upload is the fence that shows they were decided.
  const outputs = keys
    .filter((key) => key.startsWith('cutouts/'))
    .map((key) => ({ bucket, key, eTag: 'out' }));
  const fence = await upload('fence.png', 50);
  await publishEvents(p.h.broker, [...outputs.map((object) => minioEvent(object)), minioEvent(fence)]);
  await untilValue(
    async () => (await jobsOf()).length === 3 && (await jobsOf()).every((j) => j.state === 'completed'),
    { what: 'the fence job', timeoutMs: 60_000 },
  );
  const sources = await p.h.db.query<{ source_key: string }>(
    'SELECT source_key FROM tasks WHERE tenant_id = $1 ORDER BY source_key',
    [tenant],
  );
  expect(sources.map((row) => row.source_key)).toEqual(['fence.png', 'hat.png', 'new arrivals/red shoe.png']);
  expect(await p.h.broker.depth(p.h.broker.names.eventsQueue)).toBe(0);
});
