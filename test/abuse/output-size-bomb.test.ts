import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';

// The attack: a 16×16 PNG asking for outputs far larger than itself (a square canvas of 16384 px
// per side, three times). Before the fix it was admitted, rendered until libvips refused the
// pixel count, retried five times as a transient error and ended as internal_error. Now the body
// is refused at admission when the options alone exceed the contract's caps, and a worker refuses
// an output over its configured caps on the first attempt, permanently, before the model runs when
// the options alone say so, giving the image back.

let p: PipelineHarness;
let input: string;
let output: string;

const perOutputCap = 1_000_000;
const perTaskCap = 1_500_000;

beforeAll(async () => {
  p = await createPipelineHarness('abuse output size', {
    CLEARCUT_MAX_OUTPUT_PIXELS: String(perOutputCap),
    CLEARCUT_MAX_TASK_OUTPUT_PIXELS: String(perTaskCap),
  });
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
  const tiny = await sharp({
    create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 40, b: 40 } },
  })
    .png()
    .toBuffer();
  await p.s3.store.put(input, 'tiny.png', tiny, { contentType: 'image/png' });
  await p.startWorker();
}, 120_000);
afterAll(async () => {
  await p?.dispose();
});

const whiteSquare = (format: string, minSide: number) => ({
  kind: 'white',
  format,
  square: true,
  minSide,
  fill: 0.1,
});

function job(renditions: unknown[]) {
  return {
    version: 1,
    input: { bucket: input, key: 'tiny.png' },
    output: { bucket: output, prefix: 'out/' },
    renditions,
    model: 'u2netp',
  };
}

async function imagesUsedToday(tenant: string): Promise<number> {
  const [row] = await p.h.db.query<{ used: string }>(
    'SELECT day_used AS used FROM image_counters WHERE tenant_id = $1',
    [tenant],
  );
  return Number(row?.used ?? 0);
}

async function tenantWithQuota() {
  const key = await p.tenant(input, output);
  await p.h.quota(key.tenantId, { imagesPerDay: 100 });
  return key;
}

describe('an output-size bomb', () => {
  it('is refused at admission, naming the field, when the options alone exceed the contract cap', async () => {
    const key = await tenantWithQuota();
    const message = p.h.signed(
      key,
      job([whiteSquare('jpeg', 16_384), whiteSquare('png', 16_384), whiteSquare('webp', 16_384)]),
    );
    await p.h.publish(message);
    const decision = await p.h.decision(message.messageId);
    expect(decision).toMatchObject({ kind: 'rejected', reason: 'invalid_body' });
    expect(JSON.stringify(decision)).toContain('renditions[0].minSide');
    expect(await imagesUsedToday(key.tenantId)).toBe(0);
  });

  it("fails on the first attempt with output_too_large when one output is over the worker's cap, and gives the image back", async () => {
    const key = await tenantWithQuota();
    const jobId = await p.submit(key, job([{ kind: 'cutout' }, whiteSquare('jpeg', 1200)]));
    expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 0, failed: 1 });
    const [task] = await p.tasks(key.tenantId, jobId);
    expect(task).toMatchObject({ status: 'failed', attempts: 1, error_code: 'output_too_large' });
    expect(task!.error_message).toBe(
      `renditions[1] (white) would be at least 1200×1200 = 1440000 pixels, more than the ${perOutputCap} allowed per output (CLEARCUT_MAX_OUTPUT_PIXELS)`,
    );
    expect(await imagesUsedToday(key.tenantId)).toBe(0);
    expect((await p.keys(output)).filter((k) => k.startsWith('out/tiny'))).toEqual([]);
  }, 120_000);

  it("fails on the first attempt with output_too_large when the task's outputs together are over the cap", async () => {
    const key = await tenantWithQuota();
    const jobId = await p.submit(key, job([whiteSquare('jpeg', 1000), whiteSquare('png', 1000)]));
    expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 0, failed: 1 });
    const [task] = await p.tasks(key.tenantId, jobId);
    expect(task).toMatchObject({ status: 'failed', attempts: 1, error_code: 'output_too_large' });
    expect(task!.error_message).toBe(
      `the renditions would be at least 2000000 pixels together, more than the ${perTaskCap} allowed per image (CLEARCUT_MAX_TASK_OUTPUT_PIXELS)`,
    );
    expect(await imagesUsedToday(key.tenantId)).toBe(0);
  }, 120_000);

  it('still renders outputs within the caps', async () => {
    const key = await tenantWithQuota();
    const jobId = await p.submit(key, job([whiteSquare('jpeg', 1000)]));
    expect(await p.waitForJob(key.tenantId, jobId)).toMatchObject({ succeeded: 1, failed: 0 });
    expect(await imagesUsedToday(key.tenantId)).toBe(1);
  }, 120_000);

  it("caps each of a rendition's sizes, and writes every size from one inference when within the caps", async () => {
    const key = await tenantWithQuota();
    const over = await p.submit(key, job([{ ...whiteSquare('jpeg', 1100), sizes: [200, 1100] }]));
    await p.waitForJob(key.tenantId, over);
    const [refused] = await p.tasks(key.tenantId, over);
    expect(refused).toMatchObject({ status: 'failed', attempts: 1, error_code: 'output_too_large' });
    expect(refused!.error_message).toMatch(
      /^renditions\[0\] \(white, size 1100\) would be at least 1100×1100 = 1210000 pixels/,
    );

    const within = await p.submit(key, job([{ ...whiteSquare('jpeg', 800), sizes: [800, 200] }]));
    expect(await p.waitForJob(key.tenantId, within)).toMatchObject({ succeeded: 1, failed: 0 });
    const [task] = await p.tasks(key.tenantId, within);
    expect(task!.outputs!.map(({ key: written }) => written)).toEqual([
      'out/tiny.white.800.jpg',
      'out/tiny.white.200.jpg',
    ]);
    for (const side of [800, 200]) {
      const { body } = await p.s3.store.get(output, `out/tiny.white.${side}.jpg`, { maxBytes: 10_000_000 });
      expect(await sharp(body).metadata()).toMatchObject({ width: side, height: side });
    }
  }, 120_000);
});
