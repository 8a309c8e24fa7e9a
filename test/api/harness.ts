import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { type ApiService, startApi } from '../../src/api/service.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { decodeSigningSecret, type SigningSecret, signHttpRequest } from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// A real API server on a free port against this test file's own schema, and a plain-fetch client
// that signs requests or fetches tokens the way docs/protocol.md says (no SDK).

export interface TestKey {
  readonly keyId: string;
  readonly tenantId: string;
  readonly secret: SigningSecret;
}

/** A key just created: also its secret as `clearcut keys create` prints it (CLEARCUT_KEY_SECRET). */
export type CreatedTestKey = TestKey & { readonly shownOnce: string };

export interface ApiHarness {
  readonly environment: TestEnvironment;
  readonly db: Database;
  readonly api: ApiService;
  readonly base: string;
  readonly masterKey: Buffer;
  /** A tenant with read/write grants on in-<tenant> / out-<tenant>. */
  tenant(id: string, tier?: string): Promise<void>;
  key(tenantId: string, algorithm?: 'hmac-sha256' | 'ed25519'): Promise<CreatedTestKey>;
  /** Starts another API process on the same database (a different clock, for instance). */
  another(now: () => Date): Promise<ApiService>;
  close(): Promise<void>;
}

export async function startApiHarness(label: string): Promise<ApiHarness> {
  const environment = await createTestEnvironment(label, { CLEARCUT_API_PORT: '0' });
  const db = createDatabase(environment.config.database);
  await migrate(db);
  const masterKey = requireMasterKey(environment.config.gateway.masterKey);
  const log = createLogger('silent');
  const api = await startApi(environment.config, { log });
  const others: ApiService[] = [];
  return {
    environment,
    db,
    api,
    base: `http://127.0.0.1:${api.port}`,
    masterKey,
    async tenant(id, tier = 'unlimited') {
      await createTenant(db, id, tier);
      await addGrant(db, id, { bucket: `in-${id}`, prefix: '', access: 'read' });
      await addGrant(db, id, { bucket: `out-${id}`, prefix: '', access: 'write' });
    },
    async key(tenantId, algorithm = 'hmac-sha256') {
      const created = await createKey(db, masterKey, {
        tenantId,
        algorithm,
        environment: 'test',
        expiresAt: null,
      });
      const { shownOnce } = created;
      return { keyId: created.key.keyId, tenantId, secret: decodeSigningSecret(shownOnce), shownOnce };
    },
    async another(now) {
      const service = await startApi(environment.config, { log, now });
      others.push(service);
      return service;
    },
    async close() {
      for (const service of [api, ...others]) await service.stop();
      await db.close();
      await environment.dispose();
    },
  };
}

export interface SignedCall {
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly idempotencyKey?: string;
  /** Overrides of the signing input (a stale timestamp, a fixed nonce). */
  readonly timestamp?: number;
  readonly nonce?: string;
}

/** The headers of a signed request, computed as docs/protocol.md describes. */
export function signedHeaders(key: TestKey, call: SignedCall): Record<string, string> {
  const body = call.body === undefined ? Buffer.alloc(0) : Buffer.from(call.body);
  const contentType = call.contentType ?? (call.body === undefined ? '' : 'application/json');
  const signing = signHttpRequest({
    keyId: key.keyId,
    secret: key.secret,
    method: call.method ?? 'GET',
    target: call.path,
    idempotencyKey: call.idempotencyKey ?? '',
    contentType,
    body,
    ...(call.timestamp === undefined ? {} : { timestamp: call.timestamp }),
    ...(call.nonce === undefined ? {} : { nonce: call.nonce }),
  });
  return {
    ...signing,
    ...(contentType === '' ? {} : { 'content-type': contentType }),
    ...(call.idempotencyKey === undefined ? {} : { 'idempotency-key': call.idempotencyKey }),
  };
}

export function send(base: string, call: SignedCall, headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}${call.path}`, {
    method: call.method ?? 'GET',
    headers,
    ...(call.body === undefined ? {} : { body: call.body }),
  });
}

export function signedFetch(base: string, key: TestKey, call: SignedCall): Promise<Response> {
  return send(base, call, signedHeaders(key, call));
}

/** An RFC 7523 client assertion for `key`, as a client would make it with any JOSE library. */
export function clientAssertion(
  key: TestKey,
  audience: string,
  claims: { jti?: string; expiresIn?: number } = {},
) {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setIssuer(key.keyId)
    .setSubject(key.keyId)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresIn ?? 60))
    .setJti(claims.jti ?? randomBytes(16).toString('base64url'));
  return key.secret.algorithm === 'hmac-sha256'
    ? jwt.setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(key.secret.secret))
    : jwt.setProtectedHeader({ alg: 'EdDSA' }).sign(key.secret.privateKey);
}

export function tokenRequest(base: string, form: Record<string, string>): Promise<Response> {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

export async function accessToken(base: string, key: TestKey, scope?: string): Promise<string> {
  const response = await tokenRequest(base, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(key, 'clearcut'),
    ...(scope === undefined ? {} : { scope }),
  });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export const job = (tenant: string, keys: string[] = ['a.jpg']) =>
  JSON.stringify({
    version: 1,
    input: { bucket: `in-${tenant}`, keys },
    output: { bucket: `out-${tenant}`, prefix: 'o/' },
  });
