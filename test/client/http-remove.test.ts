import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startApi } from '../../src/api/service.js';
import { ApiError, createHttpClient, type HttpClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { TestKey } from '../api/harness.js';
import { type RemoveStack, startRemoveStack } from '../api/remove-stack.js';
import { encode, rectangleScene } from '../support/images.js';
import { untilValue } from '../support/until.js';

// The SDK's remove() against the whole POST /v1/remove path: the API, a gateway, a worker with the
// synthetic u2netp, the embedded S3 server; signed requests and OAuth tokens.

let stack: RemoveStack;
let key: TestKey;
let image: Buffer;

beforeAll(async () => {
  stack = await startRemoveStack('client remove');
  await stack.startWorker();
  key = await stack.tenant('acme');
  const scene = rectangleScene({
    width: 96,
    height: 64,
    subject: { left: 30, top: 12, width: 36, height: 40 },
  });
  image = await encode(scene.rgb, scene.width, scene.height, 3, 'png');
}, 120_000);
afterAll(() => stack?.close());

const sdk = (base: string, auth: 'signed' | 'oauth' = 'signed'): HttpClient =>
  createHttpClient({ url: base, keyId: key.keyId, secret: key.secret, auth });

describe('remove()', () => {
  for (const auth of ['signed', 'oauth'] as const) {
    it(`answers the rendition's bytes (${auth}); the same job id again is the same job`, async () => {
      const client = sdk(stack.base, auth);
      const first = await client.remove(image, { jobId: `one-${auth}`, contentType: 'image/png' });
      expect(first).toMatchObject({
        kind: 'done',
        jobId: `one-${auth}`,
        contentType: 'image/png',
        synthetic: true,
      });
      if (first.kind !== 'done') throw new Error('not done');
      expect(await sharp(first.bytes).metadata()).toMatchObject({
        format: 'png',
        width: 96,
        height: 64,
        hasAlpha: true,
      });
      const again = await client.remove(image, { jobId: `one-${auth}` });
      expect(again).toMatchObject({ kind: 'done', bytes: first.bytes });
      expect(await stack.jobCount('acme')).toBe(auth === 'signed' ? 1 : 2);
    });
  }

  it("sends the rendition's fields and cleanup in the query, or a form when a field is an object", async () => {
    const white = await sdk(stack.base).remove(image, {
      rendition: {
        kind: 'white',
        format: 'jpeg',
        square: true,
        minSide: 200,
        cleanup: { removeIslands: 50, threshold: 128 },
      },
    });
    if (white.kind !== 'done') throw new Error(`pending: ${white.statusUrl}`);
    expect(white.contentType).toBe('image/jpeg');
    expect(await sharp(white.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 200, height: 200 });
    // An object field (a canvas) goes as a multipart form with the rendition's JSON.
    const canvas = await sdk(stack.base).remove(image, {
      rendition: {
        kind: 'background',
        format: 'jpeg',
        background: '#F5F5F5',
        canvas: { width: 300, height: 150 },
      },
    });
    if (canvas.kind !== 'done') throw new Error(`pending: ${canvas.statusUrl}`);
    expect(await sharp(canvas.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 300, height: 150 });
    const sizes = await sdk(stack.base)
      .remove(image, { rendition: { kind: 'cutout', sizes: [100] } })
      .catch((error: unknown) => error);
    expect(sizes).toMatchObject({ status: 422, reason: 'invalid_body' });
  });

  it('gives the pending job when the server stops waiting, which then completes', async () => {
    const service = await startApi(loadConfig({ ...stack.environment.env, CLEARCUT_API_REMOVE_WAIT: '0s' }), {
      log: createLogger('silent'),
    });
    onTestFinished(() => service.stop());
    const impatient = `http://127.0.0.1:${service.port}`;
    const client = sdk(impatient);
    const pending = await client.remove(image, { jobId: 'later' });
    expect(pending).toEqual({ kind: 'pending', jobId: 'later', statusUrl: `${impatient}/v1/jobs/later` });
    const done = await untilValue(async () => {
      const status = await client.status('later');
      return status.state === 'completed' ? status : undefined;
    });
    expect(done).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('throws the reason codes of refusals', async () => {
    const client = sdk(stack.base);
    const notImage = await client.remove(Buffer.from('not an image at all')).catch((error: unknown) => error);
    expect(notImage).toBeInstanceOf(ApiError);
    expect((notImage as ApiError).status).toBeGreaterThanOrEqual(400);
    const wrongType = await client
      .remove(image, { contentType: 'image/jpeg' })
      .catch((error: unknown) => error);
    expect(wrongType).toMatchObject({ status: 415, reason: 'unsupported_media_type' });
    const badOption = await client
      .remove(image, { rendition: { kind: 'cutout', format: 'gif' } as never })
      .catch((error: unknown) => error);
    expect(badOption).toMatchObject({ status: 422, reason: 'invalid_body' });
    expect((badOption as ApiError).problems?.length).toBeGreaterThan(0);
  });
});
