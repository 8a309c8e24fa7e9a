import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiHarness,
  job,
  signedFetch,
  signedHeaders,
  startApiHarness,
  type TestKey,
  tokenRequest,
} from './harness.js';

// Hostile or broken input: every answer is a precise 4xx, the server keeps serving, nothing is admitted.

let h: ApiHarness;
let key: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api hostile');
  await h.tenant('acme');
  key = await h.key('acme');
});
afterAll(async () => h?.close());

const reasonOf = async (response: Response) => ((await response.json()) as { reason: string }).reason;

/** A raw HTTP/1.1 request, for what fetch refuses to send. */
function raw(path: string, headers: Record<string, string | string[]>, body = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.base}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('hostile input to the HTTP API', () => {
  it('answers broken bodies, headers and forms precisely and keeps serving', async () => {
    const post = (body: string, idempotencyKey: string) => ({
      method: 'POST',
      path: '/v1/jobs',
      body,
      idempotencyKey,
    });
    const notJson = await signedFetch(h.base, key, post('{"version":', 'broken-1'));
    expect(notJson.status).toBe(422);
    expect(await reasonOf(notJson)).toBe('invalid_body');
    const nul = await signedFetch(
      h.base,
      key,
      post('{"version":1,"input":{"bucket":"in-acme","key":"a\\u0000.jpg"}}', 'broken-2'),
    );
    expect(nul.status).toBe(422);
    const badId = await signedFetch(h.base, key, post(job('acme'), 'no spaces allowed'));
    expect(badId.status).toBe(400);
    expect(await reasonOf(badId)).toBe('invalid_request');

    // The same signing header twice is malformed, not "the first one".
    const call = post(job('acme'), 'twice-1');
    const headers = signedHeaders(key, call);
    expect(
      await raw(
        '/v1/jobs',
        { ...headers, 'cc-key-id': [headers['cc-key-id']!, headers['cc-key-id']!] },
        call.body,
      ),
    ).toBe(401);

    const form = await tokenRequest(h.base, { grant_type: 'client_credentials', client_assertion: 'a.b.c' });
    expect(form.status).toBe(401);
    const junk = await tokenRequest(h.base, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: '%%%not-a-jwt',
    });
    expect(await junk.json()).toMatchObject({ error: 'invalid_client' });
    const jsonForm = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(await jsonForm.json()).toMatchObject({ error: 'invalid_request' });

    const nowhere = await fetch(`${h.base}/v2/anything`);
    expect(nowhere.status).toBe(404);
    expect(await reasonOf(nowhere)).toBe('not_found');
    const bearerJunk = await fetch(`${h.base}/v1/usage`, {
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    expect(await reasonOf(bearerJunk)).toBe('invalid_token');

    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    expect(await h.db.query(`SELECT id FROM jobs`)).toEqual([]);
  });
});
