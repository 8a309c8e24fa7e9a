import { afterAll, beforeAll, expect, it } from 'vitest';
import { webhookEventSchema } from '../../src/contracts/webhook-event.js';
import { addWebhookEndpoint } from '../../src/webhooks/endpoint-admin.js';
import { recentWebhookDeliveries } from '../../src/webhooks/store.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import { smallProductPng } from '../support/images.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { untilValue } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

// A real job (gateway, worker, embedded S3 over HTTP, PostgreSQL, RabbitMQ) whose failed item and
// completion reach a receiver that verifies Standard Webhooks signatures, sent by two
// `clearcut api` processes side by side: each event exactly once, with the id of its result event.

let p: PipelineHarness;
let receiver: WebhookReceiver;
const apis: ServiceProcess[] = [];

beforeAll(async () => {
  p = await createPipelineHarness('webhooks e2e', {
    CLEARCUT_API_PORT: '0',
    CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
    CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
    CLEARCUT_WEBHOOKS_POLL_INTERVAL: '50ms',
  });
  receiver = await startWebhookReceiver();
  for (const _ of [1, 2]) apis.push(await startServiceProcess(['workers/api.ts'], p.env, 'api started'));
}, 120_000);

afterAll(async () => {
  for (const api of apis) await api.stop();
  await receiver?.close();
  await p?.dispose();
});

it('delivers item.failed and job.completed of a real job once each, signed', async () => {
  const input = await p.s3.createBucket('in');
  const output = await p.s3.createBucket('out');
  await p.s3.store.put(input, 'shop/ok.png', await smallProductPng(1), { contentType: 'image/png' });
  const key = await p.tenant(input, output);
  const { endpoint, secret } = await addWebhookEndpoint(
    p.h.db,
    p.h.masterKey,
    { allowHttp: true, allowPrivate: true },
    { tenantId: key.tenantId, url: receiver.url, events: ['job.completed', 'item.failed'] },
  );
  receiver.secrets = [secret];
  await p.startWorker();
  const jobId = await p.submit(key, {
    version: 1,
    input: { bucket: input, keys: ['shop/ok.png', 'shop/missing.png'] },
    output: { bucket: output, prefix: 'cut/' },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model: 'u2netp',
    metadata: { order: '1234' },
  });
  expect(await p.waitForJob(key.tenantId, jobId, 120_000)).toMatchObject({ succeeded: 1, failed: 1 });
  const deliveries = await untilValue(
    async () => {
      const found = await recentWebhookDeliveries(p.h.db, { tenantId: key.tenantId });
      return found.length === 2 && found.every((delivery) => delivery.status === 'succeeded') && found;
    },
    { what: 'both webhooks delivered', timeoutMs: 60_000 },
  );
  // Both sent, each once: no attempt left to make, and the receiver saw exactly these two.
  expect(deliveries.map((delivery) => [delivery.endpointId, delivery.attempts])).toEqual([
    [endpoint.id, 1],
    [endpoint.id, 1],
  ]);
  expect(receiver.received.map((request) => request.refused)).toEqual([undefined, undefined]);
  const bodies = receiver.verified().map((request) => ({
    id: request.id,
    event: webhookEventSchema.parse(JSON.parse(request.body)),
  }));
  const failed = bodies.find((body) => body.event.type === 'item.failed')!;
  const completed = bodies.find((body) => body.event.type === 'job.completed')!;
  expect(failed.event.data).toMatchObject({
    tenant: key.tenantId,
    jobId,
    item: 1,
    source: { bucket: input, key: 'shop/missing.png' },
    error: { code: 'not_found' },
  });
  expect(completed.event.data).toEqual({
    tenant: key.tenantId,
    jobId,
    total: 2,
    succeeded: 1,
    failed: 1,
    manifest: { bucket: output, key: `cut/_clearcut/${jobId}.results.jsonl` },
    metadata: { order: '1234' },
  });
  // The webhook-id is the id of the same event on the results exchange.
  const resultIds = await untilValue(
    () => {
      const ids = p.h.results.messages
        .map((message) => message.json() as { jobId: string; kind: string; eventId: string })
        .filter(
          (event) =>
            event.jobId === jobId && (event.kind === 'item.failed' || event.kind === 'job.completed'),
        )
        .map((event) => event.eventId);
      return ids.length === 2 && ids;
    },
    { what: 'the two result events' },
  );
  expect(new Set(resultIds)).toEqual(new Set([failed.id, completed.id]));
  // The two API processes' /metrics count the two successes between them.
  let succeeded = 0;
  for (const api of apis) {
    const metrics = await (
      await fetch(`http://127.0.0.1:${api.logLine('api started')!.port as number}/metrics`)
    ).text();
    succeeded += Number(
      /clearcut_webhook_deliveries_total\{outcome="succeeded"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0,
    );
  }
  expect(succeeded).toBe(2);
}, 200_000);
