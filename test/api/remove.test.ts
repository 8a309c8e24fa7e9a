import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RenditionInput, removeBackground } from '../../src/library/index.js';
import { setQuota } from '../../src/policy/quota-settings.js';
import { smallProductPng } from '../support/images.js';
import { testModelDir } from '../support/models.js';
import { untilValue } from '../support/until.js';
import { signedFetch, type TestKey } from './harness.js';
import { type RemoveStack, startRemoveStack } from './remove-stack.js';

// POST /v1/remove over plain fetch, end to end: the gateway's dispatcher publishes the one task, a
// real worker (synthetic u2netp) makes the rendition, and the API answers its bytes, which must be
// what the library makes of the same image with the same model and options.

let stack: RemoveStack;
let key: TestKey;
let token: string;
let product: Buffer;

beforeAll(async () => {
  stack = await startRemoveStack('api remove');
  await stack.startWorker();
  key = await stack.tenant('acme', { tier: 'pro' }); // a tier without the priority lane
  token = await stack.token(key);
  product = await smallProductPng(3); // 112 × 112
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const library = (image: Buffer, renditions: RenditionInput[]) =>
  removeBackground(image, {
    model: 'u2netp',
    modelDir: testModelDir,
    allowSynthetic: true,
    threads: 1,
    renditions,
  });

function remove(
  body: RequestInit['body'],
  {
    query = '',
    headers = {},
    bearer = token,
  }: { query?: string; headers?: Record<string, string>; bearer?: string } = {},
): Promise<Response> {
  return fetch(`${stack.base}/v1/remove${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, ...headers },
    body,
  });
}

/** Largest difference of any channel of any pixel between two images of the same size. */
async function largestDifference(a: Buffer, b: Buffer): Promise<number> {
  const [left, right] = await Promise.all(
    [a, b].map((image) => sharp(image).ensureAlpha().raw().toBuffer({ resolveWithObject: true })),
  );
  expect(right!.info).toMatchObject({ width: left!.info.width, height: left!.info.height });
  let largest = 0;
  for (let i = 0; i < left!.data.length; i++) {
    largest = Math.max(largest, Math.abs(left!.data[i]! - right!.data[i]!));
  }
  return largest;
}

describe('POST /v1/remove', () => {
  it('answers a raw PNG with the cutout the library makes of it, run on the priority lane', async () => {
    const response = await remove(product, { headers: { 'content-type': 'image/png' } });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    const jobId = response.headers.get('clearcut-job-id');
    expect(jobId).toMatch(/^remove-/);
    expect(response.headers.get('clearcut-synthetic-model')).toBe('true');
    const cutout = Buffer.from(await response.arrayBuffer());
    const metadata = await sharp(cutout).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 112, height: 112, hasAlpha: true });
    const expected = await library(product, [{ kind: 'cutout', format: 'png' }]);
    expect(await largestDifference(cutout, expected.outputs[0]!.bytes)).toBeLessThanOrEqual(1);
    // acme's tier has no priority lane: the call's job takes it all the same.
    const [job] = await stack.db.query<{ lane: string }>('SELECT lane FROM jobs WHERE id = $1', [jobId]);
    expect(job?.lane).toBe('priority');
  });

  it('takes a multipart form with a rendition field, and query options, as the job contract says', async () => {
    const form = new FormData();
    form.append('image', new Blob([product], { type: 'image/png' }), 'shoe.png');
    form.append(
      'rendition',
      JSON.stringify({ kind: 'background', background: '#F5F5F5', format: 'jpeg', maxSize: 64 }),
    );
    const response = await remove(form);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await response.arrayBuffer());
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 64, height: 64 });

    const queried = await remove(product, {
      query: '?format=webp&maxSize=48&threshold=128&refine=edges&decontaminate=true',
      headers: { 'content-type': 'image/png' },
    });
    expect(queried.status, await queried.clone().text()).toBe(200);
    const webp = Buffer.from(await queried.arrayBuffer());
    expect(await sharp(webp).metadata()).toMatchObject({
      format: 'webp',
      width: 48,
      height: 48,
      hasAlpha: true,
    });
    const expected = await library(product, [
      {
        kind: 'cutout',
        format: 'webp',
        maxSize: 48,
        cleanup: { threshold: 128 },
        refine: 'edges',
        decontaminate: true,
      },
    ]);
    expect(await largestDifference(webp, expected.outputs[0]!.bytes)).toBeLessThanOrEqual(1);
  });

  it('is idempotent by Idempotency-Key: a retry answers the same bytes from the one job; other bytes are a duplicate', async () => {
    const call = {
      method: 'POST',
      path: '/v1/remove',
      body: product,
      contentType: 'image/png',
      idempotencyKey: 'remove-twice',
    };
    const first = await signedFetch(stack.base, key, call);
    expect(first.status, await first.clone().text()).toBe(200);
    const second = await signedFetch(stack.base, key, call);
    expect(second.status).toBe(200);
    expect(Buffer.from(await second.arrayBuffer())).toEqual(Buffer.from(await first.arrayBuffer()));
    const [row] = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE job_id = 'remove-twice'`,
    );
    expect(row?.n).toBe(1);
    const other = await signedFetch(stack.base, key, { ...call, body: await smallProductPng(1) });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ reason: 'duplicate' });
    // The refused upload was deleted again; the job's own upload and rendition stay.
    const staged = (await stack.stagedKeys()).filter((key) =>
      key.startsWith('remove/acme/remove-twice/upload-'),
    );
    expect(staged).toEqual([
      expect.stringMatching(/^remove\/acme\/remove-twice\/upload-[0-9a-f]{64}\.cutout\.png$/),
      expect.stringMatching(/^remove\/acme\/remove-twice\/upload-[0-9a-f]{64}\.png$/),
    ]);
    expect(staged[0]!.startsWith(staged[1]!.replace(/\.png$/, ''))).toBe(true);
  });

  it('answers 202 with the job when the wait runs out, and the retry answers the bytes once they exist', async () => {
    const { base: impatient } = await stack.api({ CLEARCUT_API_REMOVE_WAIT: '0s' });
    const call = () =>
      fetch(`${impatient}/v1/remove`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'image/png',
          'idempotency-key': 'later',
        },
        body: product,
      });
    const accepted = await call();
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('location')).toBe('/v1/jobs/later');
    expect(await accepted.json()).toEqual({
      jobId: 'later',
      status: 'accepted',
      statusUrl: '/v1/jobs/later',
      repeated: false,
    });
    const done = await untilValue(
      async () => {
        const retried = await call();
        return retried.status === 200 ? Buffer.from(await retried.arrayBuffer()) : undefined;
      },
      { timeoutMs: 60_000, what: 'the retry to answer the rendition' },
    );
    expect(await sharp(done).metadata()).toMatchObject({ width: 112, height: 112, hasAlpha: true });
    // Another API process answers the same job's bytes too: the wait is a read of the shared row.
    const elsewhere = await fetch(`${stack.base}/v1/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png', 'idempotency-key': 'later' },
      body: product,
    });
    expect(elsewhere.status).toBe(200);
    expect(Buffer.from(await elsewhere.arrayBuffer())).toEqual(done);
    const [row] = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM jobs WHERE id = 'later'`,
    );
    expect(row?.n).toBe(1);
  });

  it("answers the worker's failure of the item as a problem with its item error code", async () => {
    const missing = encodeURIComponent(`s3://${stack.staging}/remove/acme/no-such-background.png`);
    const response = await remove(product, {
      query: `?background=${missing}`,
      headers: { 'content-type': 'image/png' },
    });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { reason: string; problems: string[] };
    expect(problem.reason).toBe('item_failed');
    expect(problem.problems).toEqual([
      expect.stringMatching(
        /^invalid_background: the background s3:\/\/.*no-such-background\.png: .*no such object/,
      ),
    ]);
  });

  it('refuses without a grant on the staging prefix, and over quota, with the reason codes of POST /v1/jobs', async () => {
    const stranger = await stack.tenant('stranger', { staging: false });
    const refused = await remove(product, {
      headers: { 'content-type': 'image/png' },
      bearer: await stack.token(stranger),
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ reason: 'forbidden_location' });

    const thrifty = await stack.tenant('thrifty', { tier: 'pro' });
    await setQuota(stack.db, 'thrifty', { imagesPerDay: 0 });
    const over = await remove(product, {
      headers: { 'content-type': 'image/png' },
      bearer: await stack.token(thrifty),
    });
    expect(over.status).toBe(429);
    expect(await over.json()).toMatchObject({ reason: 'quota_exceeded' });
    expect(await stack.jobCount('stranger')).toBe(0);
    expect(await stack.jobCount('thrifty')).toBe(0);
    const staged = await stack.stagedKeys();
    expect(staged.filter((k) => k.startsWith('remove/stranger/') || k.startsWith('remove/thrifty/'))).toEqual(
      [],
    );
  });
});
