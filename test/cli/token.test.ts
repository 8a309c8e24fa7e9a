import { type AddressInfo, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { type ApiHarness, startApiHarness } from '../api/harness.js';
import { runCli } from '../support/cli.js';

// `clearcut token --http URL`: the README's HTTP quick start gets its bearer token this way.

let h: ApiHarness;
let env: Environment;

beforeAll(async () => {
  h = await startApiHarness('token cli');
  await h.tenant('acme');
  const key = await h.key('acme', 'hmac-sha256');
  env = { ...h.environment.env, CLEARCUT_KEY_ID: key.keyId, CLEARCUT_KEY_SECRET: key.shownOnce };
}, 60_000);
afterAll(() => h?.close());

const bearer = (token: string, path: string, init: RequestInit = {}) =>
  fetch(`${h.base}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });

describe('clearcut token', () => {
  it('prints a token the API accepts as Authorization: Bearer', async () => {
    const run = await runCli(env, 'token', '--http', h.base);
    expect(run.status, run.err).toBe(0);
    const response = await bearer(run.out.trim(), '/v1/usage');
    expect(response.status).toBe(200);
  });

  it('asks for the scopes given and prints the whole answer with --json', async () => {
    const run = await runCli(env, 'token', '--http', h.base, '--scope', 'usage:read', '--json');
    expect(run.status, run.err).toBe(0);
    const answer = JSON.parse(run.out) as { access_token: string; scope: string; token_type: string };
    expect(answer.scope).toBe('usage:read');
    const submit = await bearer(answer.access_token, '/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'no-scope' },
      body: '{}',
    });
    expect(submit.status).toBe(403);
  });

  it('exits 3 with the reason when the API refuses the key', async () => {
    const run = await runCli(
      { ...env, CLEARCUT_KEY_SECRET: `cks_${'A'.repeat(43)}` },
      'token',
      '--http',
      h.base,
    );
    expect(run.status).toBe(3);
    expect(run.err).toMatch(/refused \(invalid_client, HTTP 401\)/);
  });

  it('says why nothing answered, as the network reports it', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const run = await runCli(env, 'token', '--http', `http://127.0.0.1:${closed}`);
    expect(run.status).toBe(1);
    expect(run.err).toContain(`POST /oauth/token: connect ECONNREFUSED 127.0.0.1:${closed}`);
  });

  it('names what is missing or malformed', async () => {
    const noUrl = await runCli(env, 'token');
    expect(noUrl.status).toBe(2);
    expect(noUrl.err).toMatch(/--http is required/);
    const badUrl = await runCli(env, 'token', '--http', 'ftp://example.com');
    expect(badUrl.status).toBe(2);
    expect(badUrl.err).toMatch(/must be http:\/\/ or https:\/\//);
    const noKey = await runCli({ ...env, CLEARCUT_KEY_ID: undefined }, 'token', '--http', h.base);
    expect(noKey.status).toBe(2);
    expect(noKey.err).toMatch(/--key-id or CLEARCUT_KEY_ID is required/);
  });
});
