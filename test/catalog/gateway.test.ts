import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { completeTask } from '../../src/jobs/task-completion.js';
import { createGatewayHarness, type GatewayHarness } from '../gateway/harness.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// A real gateway admits prefix and manifest jobs, lists them into tasks, and finalises them:
// results manifest in the output bucket, then one job.completed event.

let s3: TestS3;
let h: GatewayHarness;
let bucket: string;

beforeAll(async () => {
  s3 = await startTestS3();
  h = await createGatewayHarness('catalog gateway', s3.env);
  bucket = await s3.createBucket('gateway');
  await h.startGateway();
}, 60_000);
afterAll(async () => {
  await h?.dispose();
  await s3?.stop();
});

const body = (input: object) => ({
  version: 1,
  input,
  output: { bucket, prefix: 'out/' },
  renditions: [{ kind: 'cutout', format: 'png' }],
  model: 'u2netp',
});

const eventsOf = (jobId: string, kind: string) =>
  h.results.messages.map((m) => m.json() as ResultEvent).filter((e) => e.jobId === jobId && e.kind === kind);

describe('catalog jobs through the gateway', () => {
  it('admits a prefix job with items unknown, lists it, and finalises it when its items end', async () => {
    const keys = ['shop/1.jpg', 'shop/2.jpg', 'shop/3.jpg'];
    for (const key of keys) await s3.store.put(bucket, key, Buffer.from('x'), { contentType: 'image/jpeg' });
    const tenant = await h.tenant();
    await h.grant(tenant, bucket, 'shop/', 'read');
    await h.grant(tenant, bucket, 'out/', 'write');
    const message = h.signed(await h.key(tenant), body({ bucket, prefix: 'shop/' }));
    await h.publish(message);
    expect(await h.decision(message.messageId)).toMatchObject({ kind: 'accepted', items: null });

    // The dispatcher publishes the listed tasks; end each as a worker would.
    let tasks: { id: string }[] = [];
    for (let tries = 0; tasks.length < keys.length && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      tasks = await h.db.query(
        `SELECT id::text FROM tasks WHERE tenant_id = $1 AND job_id = $2 AND status = 'queued' ORDER BY item`,
        [tenant, message.messageId],
      );
    }
    expect(tasks).toHaveLength(keys.length);
    for (const task of tasks) {
      await h.db.transaction((tx) =>
        completeTask(
          tx,
          { taskId: task.id, attempt: 1 },
          { status: 'failed', error: { code: 'corrupt_image', message: 'x' } },
        ),
      );
    }
    await h.results.waitFor(() => eventsOf(message.messageId, 'job.completed').length === 1);
    const manifestKey = `out/_clearcut/${message.messageId}.results.jsonl`;
    expect(eventsOf(message.messageId, 'job.completed')[0]).toMatchObject({
      total: 3,
      failed: 3,
      manifest: { bucket, key: manifestKey },
    });
    const manifest = await s3.store.get(bucket, manifestKey, { maxBytes: 1 << 20 });
    expect(manifest.body.toString().trimEnd().split('\n')).toHaveLength(3);
  });

  it('refuses a prefix or manifest the tenant may not read', async () => {
    const tenant = await h.tenant();
    await h.grant(tenant, bucket, 'shop/', 'read');
    await h.grant(tenant, bucket, 'out/', 'write');
    const key = await h.key(tenant);
    const wholeBucket = h.signed(key, body({ bucket, prefix: '' }));
    const manifest = h.signed(key, body({ manifest: { bucket, key: 'lists/m.csv' } }));
    await h.publish(wholeBucket);
    await h.publish(manifest);
    expect(await h.decision(wholeBucket.messageId)).toMatchObject({
      kind: 'rejected',
      reason: 'forbidden_location',
      message: expect.stringContaining(`no read grant on s3://${bucket}/`),
    });
    expect(await h.decision(manifest.messageId)).toMatchObject({
      kind: 'rejected',
      reason: 'forbidden_location',
      message: expect.stringContaining(`no read grant on the manifest s3://${bucket}/lists/m.csv`),
    });
  });
});
