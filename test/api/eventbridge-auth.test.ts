import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSecretRefused } from '../../src/api/client-secret.js';
import { listAudit } from '../../src/audit/audit.js';
import { revokeKey } from '../../src/keys/key-admin.js';
import { decodeSigningSecret, generateKeyId } from '../../src/signing/index.js';
import { untilValue } from '../support/until.js';
import {
  basicTokenRequest,
  type EventSourceKey,
  eventSourceKey,
  eventToken,
  inBucket,
  objectCreatedExample,
  postEvent,
} from './eventbridge-support.js';
import {
  type ApiHarness,
  accessToken,
  clientAssertion,
  job,
  signedFetch,
  startApiHarness,
  type TestKey,
  tokenRequest,
} from './harness.js';

// How an EventBridge connection (OAUTH_CLIENT_CREDENTIALS) authenticates: it sends the client id
// and secret of an event-source key to POST /oauth/token (client_secret_basic or _post) and calls
// the API destination with the bearer token. Plain secrets are for event-source keys only.

let h: ApiHarness;
let source: EventSourceKey;
let signing: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api eventbridge auth');
  await h.tenant('acme');
  source = await eventSourceKey(h, 'acme');
  signing = await h.key('acme');
});
afterAll(async () => h?.close());

type TokenAnswer = { access_token: string; token_type: string; expires_in: number; scope: string };
type OAuthFailure = { error: string; error_description: string };
const refusedClient: OAuthFailure = { error: 'invalid_client', error_description: clientSecretRefused };
const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('POST /oauth/token for an event-source key', () => {
  it('issues an events:write token for client_secret_basic, the way an EventBridge connection asks', async () => {
    const response = await basicTokenRequest(h.base, source);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as TokenAnswer;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'events:write' });
    expect(decodeJwt(body.access_token)).toMatchObject({
      sub: source.clientId,
      tenant: 'acme',
      scope: 'events:write',
    });
    const [audit] = await listAudit(h.db, { tenantId: 'acme', limit: 1 });
    expect(audit).toMatchObject({ source: 'api', outcome: 'token.issued', keyId: source.clientId });
  });

  it('issues one for client_secret_post, form-encoded or as a JSON object of strings', async () => {
    const form = {
      grant_type: 'client_credentials',
      client_id: source.clientId,
      client_secret: source.clientSecret,
    };
    const posted = await tokenRequest(h.base, form);
    expect(posted.status).toBe(200);
    expect(((await posted.json()) as TokenAnswer).scope).toBe('events:write');
    const asJson = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(form),
    });
    expect(asJson.status).toBe(200);
  });

  it('refuses a wrong secret, an unknown key, a signing key sending its secret, a revoked key, and two methods at once, telling an unauthenticated caller nothing of the key', async () => {
    const other = decodeSigningSecret((await eventSourceKey(h, 'acme')).clientSecret);
    const wrong = await basicTokenRequest(h.base, {
      clientId: source.clientId,
      clientSecret: `cks_${other.algorithm === 'hmac-sha256' ? other.secret.toString('base64url') : ''}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="clearcut"');
    expect((await wrong.json()) as OAuthFailure).toEqual(refusedClient);

    const unknown = await basicTokenRequest(h.base, { ...source, clientId: generateKeyId('test') });
    expect(unknown.status).toBe(401);
    expect((await unknown.json()) as OAuthFailure).toEqual(refusedClient);

    const signingSecret =
      signing.secret.algorithm === 'hmac-sha256' ? `cks_${signing.secret.secret.toString('base64url')}` : '';
    const plain = await basicTokenRequest(h.base, { clientId: signing.keyId, clientSecret: signingSecret });
    expect(plain.status).toBe(401);
    // Not "a signing key of tenant acme": the same words as for any other failure.
    expect((await plain.json()) as OAuthFailure).toEqual(refusedClient);

    const both = await fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: basicOf(source.clientId, source.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_secret: source.clientSecret,
      }).toString(),
    });
    expect(both.status).toBe(400);
    expect(((await both.json()) as OAuthFailure).error).toBe('invalid_request');

    const wide = await basicTokenRequest(h.base, source, 'grant_type=client_credentials&scope=jobs%3Awrite');
    expect(wide.status).toBe(400);
    expect(((await wide.json()) as OAuthFailure).error).toBe('invalid_scope');

    const doomed = await eventSourceKey(h, 'acme');
    const issued = await eventToken(h.base, doomed);
    await revokeKey(h.db, doomed.clientId);
    // The key store hears of the revocation by NOTIFY: within a second, as for signing keys.
    const revoked = await untilValue(
      async () => {
        const response = await basicTokenRequest(h.base, doomed);
        return response.status === 401 ? ((await response.json()) as OAuthFailure) : undefined;
      },
      { timeoutMs: 5000, what: 'the revoked key refused a token' },
    );
    expect(revoked).toEqual(refusedClient);
    // Its token stops too: EventBridge gets 401 (it then fetches a new token, which is refused).
    const late = await postEvent(h.base, issued, inBucket('in-acme'));
    expect(late.status).toBe(401);
    expect(((await late.json()) as { reason: string }).reason).toBe('invalid_token');
  });
});

describe('what each kind of key may do', () => {
  it('an event-source token posts events and nothing else; a signing key cannot post events', async () => {
    const events = await eventToken(h.base, source);
    const submitted = await fetch(`${h.base}/v1/jobs`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${events}`,
        'content-type': 'application/json',
        'idempotency-key': 'eb-1',
      },
      body: job('acme'),
    });
    expect(submitted.status).toBe(403);
    expect(((await submitted.json()) as { reason: string }).reason).toBe('insufficient_scope');

    const signingToken = await accessToken(h.base, signing);
    const posted = await postEvent(h.base, signingToken, objectCreatedExample);
    expect(posted.status).toBe(403);
    const signed = await signedFetch(h.base, signing, {
      method: 'POST',
      path: '/v1/events/s3',
      body: JSON.stringify(objectCreatedExample),
    });
    expect(signed.status).toBe(403);
    expect(((await signed.json()) as { reason: string }).reason).toBe('insufficient_scope');
  });

  it('an event-source key signs nothing: a signed request and a client assertion with it are refused', async () => {
    const asSigner: TestKey = {
      keyId: source.clientId,
      tenantId: 'acme',
      secret: decodeSigningSecret(source.clientSecret),
    };
    const signed = await signedFetch(h.base, asSigner, { path: '/v1/usage' });
    expect(signed.status).toBe(401);
    const problem = (await signed.json()) as { reason: string; detail: string };
    expect(problem.reason).toBe('unknown_key');
    expect(problem.detail).toMatch(/is an event-source key: .* signs nothing/);

    const assertion = await tokenRequest(h.base, {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(asSigner, 'clearcut'),
    });
    expect(assertion.status).toBe(401);
    expect(((await assertion.json()) as OAuthFailure).error_description).toMatch(/event-source key/);
  });
});
