import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/audit.js';
import { revokeKey } from '../../src/keys/key-admin.js';
import { generateKeyId } from '../../src/signing/keys.js';
import { until } from '../support/until.js';
import {
  type ApiHarness,
  accessToken,
  clientAssertion,
  job,
  startApiHarness,
  type TestKey,
  tokenRequest,
} from './harness.js';

// OAuth 2.0 client credentials with RFC 7523 assertions, and the access tokens in use.

let h: ApiHarness;
let hmac: TestKey;
let ed25519: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api oauth');
  await h.tenant('acme');
  hmac = await h.key('acme');
  ed25519 = await h.key('acme', 'ed25519');
});
afterAll(async () => h?.close());

const bearer = (token: string, init: RequestInit = {}) => ({
  ...init,
  headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
});
const submit = (token: string, id: string, body = job('acme')) =>
  fetch(
    `${h.base}/v1/jobs`,
    bearer(token, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'idempotency-key': id },
    }),
  );
const reasonOf = async (response: Response) => ((await response.json()) as { reason: string }).reason;
const assertionForm = async (
  key: TestKey,
  claims: { jti?: string; expiresIn?: number } = {},
  audience = 'clearcut',
) => ({
  grant_type: 'client_credentials',
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: await clientAssertion(key, audience, claims),
});

describe('POST /oauth/token', () => {
  it('issues a short-lived token naming the tenant, key and scopes, for client_secret_jwt and private_key_jwt', async () => {
    for (const key of [hmac, ed25519]) {
      const response = await tokenRequest(h.base, await assertionForm(key));
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as {
        access_token: string;
        token_type: string;
        expires_in: number;
      };
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300 });
      expect(decodeJwt(body.access_token)).toMatchObject({
        sub: key.keyId,
        tenant: 'acme',
        scope: 'jobs:write jobs:read usage:read webhooks:write webhooks:read',
        iss: 'clearcut',
      });
      const [audit] = await listAudit(h.db, { tenantId: 'acme', limit: 1 });
      expect(audit).toMatchObject({ source: 'api', outcome: 'token.issued', keyId: key.keyId });
      const used = await submit(body.access_token, `tok-${key.secret.algorithm}`);
      expect(used.status).toBe(202);
    }
  });

  it('refuses an assertion used twice, one for another audience, one too long-lived, and a forged one', async () => {
    const form = await assertionForm(hmac, { jti: 'once-only-jti-0000000001' });
    expect((await tokenRequest(h.base, form)).status).toBe(200);
    const again = await tokenRequest(h.base, form);
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ error: 'invalid_client' });

    const elsewhere = await tokenRequest(h.base, await assertionForm(hmac, {}, 'https://other.example'));
    expect(elsewhere.status).toBe(401);
    const forever = await tokenRequest(h.base, await assertionForm(hmac, { expiresIn: 3600 }));
    expect(forever.status).toBe(401);
    // An HS256 assertion signed with another key's secret but claiming this key.
    const forged = await tokenRequest(h.base, await assertionForm({ ...ed25519, secret: hmac.secret }));
    expect(forged.status).toBe(401);
    const wrongGrant = await tokenRequest(h.base, { ...form, grant_type: 'password' });
    expect(await wrongGrant.json()).toMatchObject({ error: 'unsupported_grant_type' });
  });

  it('tells a caller whose assertion does not verify nothing of the key: unknown, forged and revoked read alike', async () => {
    const unverified = async (key: TestKey) => {
      const response = await tokenRequest(h.base, await assertionForm(key));
      expect(response.status).toBe(401);
      return ((await response.json()) as { error_description: string }).error_description;
    };
    const revoked = await h.key('acme');
    await revokeKey(h.db, revoked.keyId);
    const forgedRevoked = await unverified({ ...revoked, secret: hmac.secret });
    const unknown = await unverified({ ...hmac, keyId: generateKeyId('test') });
    const forged = await unverified({ ...ed25519, secret: hmac.secret });
    expect(new Set([unknown, forged, forgedRevoked]).size).toBe(1);
    expect(unknown).not.toMatch(/acme|revoked|ck_test_/);
    // The holder of a revoked key is told why.
    expect(await unverified(revoked)).toMatch(/revoked/);
  });

  it('a token limited to usage:read cannot submit jobs (403 insufficient_scope)', async () => {
    const token = await accessToken(h.base, hmac, 'usage:read');
    expect((await fetch(`${h.base}/v1/usage`, bearer(token))).status).toBe(200);
    const refused = await submit(token, 'scoped-1');
    expect(refused.status).toBe(403);
    expect(await reasonOf(refused)).toBe('insufficient_scope');
  });

  it('a bearer retry of the same job answers the same job; another body is 409 duplicate', async () => {
    const token = await accessToken(h.base, hmac);
    expect((await submit(token, 'bearer-retry')).status).toBe(202);
    const retry = await submit(token, 'bearer-retry');
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ jobId: 'bearer-retry', repeated: true });
    const other = await submit(token, 'bearer-retry', job('acme', ['b.jpg']));
    expect(other.status).toBe(409);
    expect(await reasonOf(other)).toBe('duplicate');
  });

  it("stops a revoked key's token within a second", async () => {
    const key = await h.key('acme');
    const token = await accessToken(h.base, key);
    expect((await fetch(`${h.base}/v1/usage`, bearer(token))).status).toBe(200);
    const revokedAt = Date.now();
    await revokeKey(h.db, key.keyId);
    await until(async () => (await fetch(`${h.base}/v1/usage`, bearer(token))).status === 401, {
      timeoutMs: 1000,
      what: "the revoked key's token refused",
    });
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    const refused = await fetch(`${h.base}/v1/usage`, bearer(token));
    expect(await reasonOf(refused)).toBe('invalid_token');
  });

  it('refuses a token after its expiry (an API whose clock is past it) and a tampered one', async () => {
    const token = await accessToken(h.base, hmac);
    const later = await h.another(() => new Date(Date.now() + 301_000));
    const expired = await fetch(`http://127.0.0.1:${later.port}/v1/usage`, bearer(token));
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({
      reason: 'invalid_token',
      detail: expect.stringMatching(/expired/),
    });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const rival = Buffer.from(JSON.stringify({ ...claims, tenant: 'rival' })).toString('base64url');
    const tampered = await fetch(`${h.base}/v1/usage`, bearer(`${header}.${rival}.${signature}`));
    expect(tampered.status).toBe(401);
  });
});
