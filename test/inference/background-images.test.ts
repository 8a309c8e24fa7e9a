import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import { pixelsOf } from '../support/images.js';

// A background image from S3, end to end: the gateway checks its read grant like a source's, the
// worker fetches it once, checks the grant again, and composes every output on it.

let p: PipelineHarness;
let input: string;
let assets: string;
let output: string;

const floor = [10, 200, 100] as const;

beforeAll(async () => {
  p = await createPipelineHarness('background images');
  [input, assets, output] = [
    await p.s3.createBucket('in'),
    await p.s3.createBucket('assets'),
    await p.s3.createBucket('out'),
  ];
  const solid = (colour: readonly number[], size: number) =>
    sharp({ create: { width: size, height: size, channels: 3, background: [...colour] } })
      .png()
      .toBuffer();
  await p.s3.store.put(input, 'item.png', await solid([200, 40, 40], 32), { contentType: 'image/png' });
  await p.s3.store.put(assets, 'floors/oak.png', await solid(floor, 8), { contentType: 'image/png' });
  await p.s3.store.put(assets, 'notes.txt', Buffer.from('not an image'), { contentType: 'text/plain' });
  await p.startWorker();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
});

function job(background: string) {
  return {
    version: 1,
    input: { bucket: input, key: 'item.png' },
    output: { bucket: output, prefix: 'bg/' },
    renditions: [{ kind: 'background', background, canvas: { width: 64, height: 48, fill: 0.5 } }],
    model: 'u2netp',
  };
}

it('refuses at admission a background the tenant may not read', async () => {
  const key = await p.tenant(input, output);
  const message = p.h.signed(key, job(`s3://${assets}/floors/oak.png`));
  await p.h.publish(message);
  expect(await p.h.decision(message.messageId)).toMatchObject({
    kind: 'rejected',
    reason: 'forbidden_location',
    message: expect.stringContaining(`no read grant on the background s3://${assets}/floors/oak.png`),
  });
});

it('composes the output on the image, which covers the whole canvas', async () => {
  const key = await p.tenant(input, output);
  await p.h.grant(key.tenantId, assets, 'floors/', 'read');
  const jobId = await p.submit(key, job(`s3://${assets}/floors/oak.png`));
  expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 1, failed: 0 });
  const { body } = await p.s3.store.get(output, 'bg/item.background.png', { maxBytes: 1_000_000 });
  const { data, width, height, channels } = await pixelsOf(body);
  expect({ width, height, channels }).toEqual({ width: 64, height: 48, channels: 3 });
  // The corners are outside the placed 32×32 frame (fill 0.5 of 48 → 24×24 at (20, 12)): floor.
  for (const at of [0, width - 1, (height - 1) * width, height * width - 1]) {
    expect([...data.subarray(at * 3, at * 3 + 3)]).toEqual([...floor]);
  }
});

it('fails the item at once with invalid_background when the background is not an image', async () => {
  const key = await p.tenant(input, output);
  await p.h.grant(key.tenantId, assets, '', 'read');
  const jobId = await p.submit(key, job(`s3://${assets}/notes.txt`));
  await p.waitForJob(key.tenantId, jobId);
  const [task] = await p.tasks(key.tenantId, jobId);
  expect(task).toMatchObject({ status: 'failed', attempts: 1, error_code: 'invalid_background' });
  expect(task!.error_message).toMatch(new RegExp(`^the background s3://${assets}/notes.txt: `));
});
