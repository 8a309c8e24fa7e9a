import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { animatedPng, noisyJpeg, pngClaimingSize, smallProductPng, truncated } from '../support/images.js';
import { until, untilValue } from '../support/until.js';
import { accessToken, clientAssertion, type TestKey, tokenRequest } from './harness.js';
import { type RemoveStack, startRemoveStack } from './remove-stack.js';

// What POST /v1/remove refuses before anything is admitted, each with its own problem: the
// worker's image refusals, content types, body size, options, forms. Nothing is left behind: no
// job, no staged object. No worker runs here; nothing should reach one.

let stack: RemoveStack;
let key: TestKey;
let token: string;
let png: Buffer;

beforeAll(async () => {
  stack = await startRemoveStack('api remove input', {
    CLEARCUT_API_REMOVE_MAX_BYTES: '64KiB',
    CLEARCUT_MAX_INPUT_PIXELS: '1000000',
  });
  key = await stack.tenant('acme');
  token = await stack.token(key);
  png = await smallProductPng(0);
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

function remove(
  body: RequestInit['body'],
  { query = '', headers = {} }: { query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${stack.base}/v1/remove${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

async function expectProblem(response: Response, status: number, reason: string) {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text) as { reason: string; detail: string; problems?: string[] };
  expect(problem.reason).toBe(reason);
  return problem;
}

const raw = (contentType: string) => ({ headers: { 'content-type': contentType } });

describe('POST /v1/remove refuses', () => {
  it('what the worker would refuse, with its codes', async () => {
    const text = await expectProblem(
      await remove('not an image at all', raw('image/png')),
      415,
      'unsupported_format',
    );
    expect(text.detail).toContain('text, not an image');
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    expect(
      (await expectProblem(await remove(gif, raw('application/octet-stream')), 415, 'unsupported_format'))
        .detail,
    ).toContain('GIF');
    await expectProblem(await remove(Buffer.alloc(0), raw('image/png')), 400, 'empty_file');
    const bomb = await expectProblem(
      await remove(pngClaimingSize(2000, 2000), raw('image/png')),
      422,
      'too_many_pixels',
    );
    expect(bomb.detail).toContain('2000×2000');
    await expectProblem(await remove(await animatedPng(), raw('image/png')), 422, 'animated_image');
    await expectProblem(
      await remove(truncated(await noisyJpeg(120, 120), 0.5), raw('image/jpeg')),
      422,
      'corrupt_image',
    );
  });

  it('bodies over the cap, and content types that are not an image or a form', async () => {
    const large = await noisyJpeg(400, 400);
    expect(large.length).toBeGreaterThan(64 * 1024);
    const tooLarge = await expectProblem(await remove(large, raw('image/jpeg')), 413, 'body_too_large');
    expect(tooLarge.detail).toContain(String(64 * 1024));
    await expectProblem(await remove(png, raw('application/json')), 415, 'unsupported_media_type');
    await expectProblem(await remove(png), 415, 'unsupported_media_type');
    const mislabelled = await expectProblem(
      await remove(png, raw('image/jpeg')),
      415,
      'unsupported_media_type',
    );
    expect(mislabelled.detail).toContain('PNG');
  });

  it('options the rendition contract refuses, and forms that are not one image', async () => {
    const unknown = await expectProblem(
      await remove(png, { query: '?colour=red&maxSize=4', ...raw('image/png') }),
      422,
      'invalid_body',
    );
    expect(unknown.problems).toEqual([expect.stringContaining('colour: unknown option')]);
    const wrong = await expectProblem(
      await remove(png, { query: '?maxSize=4&format=gif', ...raw('image/png') }),
      422,
      'invalid_body',
    );
    expect(wrong.problems).toEqual([
      expect.stringMatching(/^rendition\.format/),
      expect.stringMatching(/^rendition\.maxSize/),
    ]);
    const twoFiles = new FormData();
    twoFiles.append('a', new Blob([png], { type: 'image/png' }), 'a.png');
    twoFiles.append('b', new Blob([png], { type: 'image/png' }), 'b.png');
    await expectProblem(await remove(twoFiles), 400, 'invalid_request');
    const sized = new FormData();
    sized.append('image', new Blob([png], { type: 'image/png' }), 'a.png');
    sized.append('rendition', JSON.stringify({ kind: 'cutout', sizes: [32, 64] }));
    const problem = await expectProblem(await remove(sized), 422, 'invalid_body');
    expect(problem.problems).toEqual([
      'rendition.sizes: POST /v1/remove answers one image; give maxSize instead',
    ]);
    await expectProblem(
      await remove(png, { headers: { 'content-type': 'image/png', 'idempotency-key': 'no spaces' } }),
      400,
      'invalid_request',
    );
  });

  it('callers without credentials or the jobs:write scope', async () => {
    await expectProblem(
      await fetch(`${stack.base}/v1/remove`, {
        method: 'POST',
        headers: raw('image/png').headers,
        body: png,
      }),
      401,
      'missing_header',
    );
    const response = await tokenRequest(stack.base, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(key, 'clearcut'),
      scope: 'jobs:read',
    });
    const reader = ((await response.json()) as { access_token: string }).access_token;
    await expectProblem(
      await fetch(`${stack.base}/v1/remove`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reader}`, 'content-type': 'image/png' },
        body: png,
      }),
      403,
      'insufficient_scope',
    );
  });

  it('and leaves no job and no staged object behind', async () => {
    expect(await stack.jobCount('acme')).toBe(0);
    expect(await stack.stagedKeys()).toEqual([]);
  });

  it('answers a caller still waiting when its API shuts down with 202: the job goes on', async () => {
    const { base, service } = await stack.api({ CLEARCUT_API_REMOVE_WAIT: '60s' });
    const patient = await stack.tenant('patient');
    const waiting = fetch(`${base}/v1/remove`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await accessToken(base, patient)}`,
        'content-type': 'image/png',
        'idempotency-key': 'cut-short',
      },
      body: png,
    });
    // No worker runs here: once the job is admitted, the call can only be waiting.
    await until(async () => (await stack.jobCount('patient')) === 1, { what: 'the job admitted' });
    // Read the answer while stopping: the drain waits for this connection to be done.
    const stopped = service.stop();
    const answer = await waiting;
    expect(answer.status).toBe(202);
    // Its connection ends with the answer: a keep-alive socket would hold the close open.
    expect(answer.headers.get('connection')).toBe('close');
    expect(await answer.json()).toMatchObject({ jobId: 'cut-short', statusUrl: '/v1/jobs/cut-short' });
    await stopped;
  });

  it('answers 503 busy with Retry-After beyond CLEARCUT_API_REMOVE_CONCURRENCY, and takes calls again once one ends', async () => {
    const { base, service } = await stack.api({
      CLEARCUT_API_REMOVE_WAIT: '60s',
      CLEARCUT_API_REMOVE_CONCURRENCY: '1',
    });
    const holder = await stack.tenant('holder');
    const other = await stack.tenant('other');
    const otherToken = await accessToken(base, other);
    const post = (body: Buffer | string, bearer: string, signal?: AbortSignal) =>
      fetch(`${base}/v1/remove`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'image/png' },
        body,
        ...(signal === undefined ? {} : { signal }),
      });
    const hangUp = new AbortController();
    const holding = post(png, await accessToken(base, holder), hangUp.signal);
    // No worker runs here: once its job is admitted, the first call can only be waiting.
    await until(async () => (await stack.jobCount('holder')) === 1, { what: 'the first job admitted' });

    const refused = await post(png, otherToken);
    const busy = await expectProblem(refused, 503, 'busy');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(busy.detail).toContain('CLEARCUT_API_REMOVE_CONCURRENCY');
    expect(await stack.jobCount('other')).toBe(0);
    expect((await stack.stagedKeys()).filter((key) => key.startsWith('remove/other/'))).toEqual([]);

    // The first caller hangs up: its place is free again, and the next call is read and checked.
    hangUp.abort();
    await expect(holding).rejects.toThrow();
    const checked = await untilValue(
      async () => {
        const answer = await post('not an image at all', otherToken);
        if (answer.status !== 503) return answer;
        await answer.body?.cancel();
        return undefined;
      },
      { what: 'a call past the cap' },
    );
    await expectProblem(checked, 415, 'unsupported_format');
    const admitted = post(png, otherToken);
    await until(async () => (await stack.jobCount('other')) === 1, { what: 'the next job admitted' });
    const stopped = service.stop();
    expect((await admitted).status).toBe(202);
    await stopped;
  });

  it('is off, saying why, when no staging bucket is set', async () => {
    const { base: off } = await stack.api({ CLEARCUT_API_STAGING_BUCKET: '' });
    const answer = await fetch(`${off}/v1/remove`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await accessToken(off, key)}`, 'content-type': 'image/png' },
      body: png,
    });
    expect((await expectProblem(answer, 404, 'not_found')).detail).toContain('CLEARCUT_API_STAGING_BUCKET');
  });
});
