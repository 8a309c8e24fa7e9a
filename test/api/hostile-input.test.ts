import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/service.js';
import { createLogger } from '../../src/log.js';
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
    // A JSON form (as an EventBridge connection may send) must be an object of strings.
    const jsonForm = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      body: '{"grant_type": ["client_credentials"]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(await jsonForm.json()).toMatchObject({ error: 'invalid_request' });
    const noGrant = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(await noGrant.json()).toMatchObject({ error: 'unsupported_grant_type' });

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

  it('refuses wrong content types at every door of the API', async () => {
    const asText = { method: 'POST', path: '/v1/jobs', body: job('acme'), idempotencyKey: 'text-1' };
    const text = await signedFetch(h.base, key, { ...asText, contentType: 'text/plain' });
    expect(text.status).toBe(415);
    expect(await reasonOf(text)).toBe('unsupported_media_type');
    const form = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      body: 'grant_type=client_credentials',
      headers: { 'content-type': 'text/plain' },
    });
    expect(form.status).toBe(400);
    expect(await form.json()).toMatchObject({ error: 'invalid_request' });
    expect(await h.db.query(`SELECT id FROM jobs`)).toEqual([]);
  });

  it('refuses header injection: control characters in a header, CR LF smuggled into Idempotency-Key', async () => {
    // Raw bytes fetch would not send: the HTTP parser refuses them before any route runs.
    const answer = await rawBytes(
      'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\rSet-Cookie: x=1\r\nContent-Length: 0\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toMatch(/set-cookie/i);
    const call = {
      method: 'POST',
      path: '/v1/jobs',
      body: job('acme'),
      idempotencyKey: 'a%0D%0ASet-Cookie:x=1',
    };
    const escaped = await signedFetch(h.base, key, call);
    expect(escaped.status).toBe(400);
    expect(await reasonOf(escaped)).toBe('invalid_request');
    expect(escaped.headers.get('set-cookie')).toBeNull();
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  });

  it('cuts off a client that sends its headers and then dribbles the body (CLEARCUT_API_REQUEST_TIMEOUT)', async () => {
    const { config } = h.environment;
    const quick = await startApi(
      { ...config, api: { ...config.api, requestTimeoutMs: 1000 } },
      { log: createLogger('silent') },
    );
    try {
      const socket = connect(quick.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk.toString('latin1');
      });
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(
        'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      );
      // One byte every 100 ms would take hours to finish the body; the server must not wait.
      const dribble = setInterval(() => {
        if (!socket.destroyed) socket.write(' ');
      }, 100);
      await closed;
      clearInterval(dribble);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      const health = await fetch(`http://127.0.0.1:${quick.port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await quick.stop();
    }
    expect(await h.db.query(`SELECT id FROM jobs`)).toEqual([]);
  });
});

/** Sends exact bytes and returns the server's answer up to the end of its headers. */
function rawBytes(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(h.base).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n\r\n')) socket.end();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.end(bytes);
  });
}
