import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createKey, listKeys, revokeKey, rotateKey } from '../../src/keys/key-admin.js';
import { createKeyStore, type KeyStore, keyState } from '../../src/keys/key-store.js';
import { MasterKeyMismatchError } from '../../src/keys/master-key-check.js';
import { SecretBoxError, sealSecret } from '../../src/keys/secret-box.js';
import {
  decodeSigningSecret,
  parseSignedHeaders,
  signJob,
  verifySignature,
} from '../../src/signing/index.js';
import { PolicyStoreError } from '../../src/tenants/errors.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';

let store: MigratedDatabase;
let masterKey: Buffer;
const hour = 3_600_000;
beforeAll(async () => {
  store = await migratedDatabase('keys');
  masterKey = Buffer.from(store.environment.config.gateway.masterKey!, 'base64');
});
afterAll(async () => store.dispose());

/** Signs a message with what `keys create` printed and verifies it with what the key store serves. */
function verifiesWith(shownOnce: string, keyId: string, key: Parameters<typeof verifySignature>[2]): boolean {
  const body = Buffer.from('{"job":1}');
  const { headers } = signJob({
    keyId,
    secret: decodeSigningSecret(shownOnce),
    messageId: 'job-1',
    contentType: 'application/json',
    body,
  });
  return verifySignature(parseSignedHeaders(headers, 'job-1', 'application/json'), body, key);
}

describe('key lifecycle', () => {
  let keys: KeyStore;
  beforeAll(async () => {
    keys = await createKeyStore(store.db, masterKey, { cacheTtlMs: hour });
  });
  afterAll(async () => keys.close());

  it('creates HMAC keys whose secret is stored only encrypted and verifies what the producer signs', async () => {
    const tenantId = await store.tenant();
    const { key, shownOnce } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: null,
    });
    expect(key).toMatchObject({ tenantId, algorithm: 'hmac-sha256', environment: 'live', state: 'active' });
    expect(key.keyId).toMatch(/^ck_live_/);
    expect(shownOnce).toMatch(/^cks_/);
    const [row] = await store.db.query<{ secret_ciphertext: Buffer; public_key: null }>(
      'SELECT secret_ciphertext, public_key FROM api_keys WHERE key_id = $1',
      [key.keyId],
    );
    const secret = (decodeSigningSecret(shownOnce) as { secret: Buffer }).secret;
    expect(row!.secret_ciphertext.includes(secret)).toBe(false);
    expect(row!.public_key).toBeNull();
    const served = (await keys.get(key.keyId))!;
    expect(served).toMatchObject({ keyId: key.keyId, tenantId, algorithm: 'hmac-sha256', secret });
    expect(verifiesWith(shownOnce, key.keyId, served)).toBe(true);
  });

  it('creates Ed25519 keys of which the server keeps only the public key', async () => {
    const tenantId = await store.tenant();
    const { key, shownOnce } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'ed25519',
      environment: 'test',
      expiresAt: new Date(Date.now() + 90 * 24 * hour),
    });
    expect(key.keyId).toMatch(/^ck_test_/);
    expect(shownOnce).toMatch(/^cked_/);
    const [row] = await store.db.query<{ secret_ciphertext: null; public_key: string }>(
      'SELECT secret_ciphertext, public_key FROM api_keys WHERE key_id = $1',
      [key.keyId],
    );
    expect(row!.secret_ciphertext).toBeNull();
    expect(shownOnce).not.toContain(row!.public_key);
    const served = (await keys.get(key.keyId))!;
    expect(served.algorithm).toBe('ed25519');
    expect(verifiesWith(shownOnce, key.keyId, served)).toBe(true);
  });

  it('lists keys per tenant without any key material', async () => {
    const tenantId = await store.tenant();
    const made = [];
    for (const algorithm of ['hmac-sha256', 'ed25519'] as const) {
      made.push(
        await createKey(store.db, masterKey, { tenantId, algorithm, environment: 'live', expiresAt: null }),
      );
    }
    const listed = await listKeys(store.db, { tenantId });
    expect(listed.map((key) => key.keyId)).toEqual(made.map((created) => created.key.keyId));
    const text = JSON.stringify(listed);
    for (const created of made) expect(text).not.toContain(created.shownOnce.slice(4));
    expect(Object.keys(listed[0]!).sort()).toEqual(
      [
        'algorithm',
        'createdAt',
        'environment',
        'expiresAt',
        'keyId',
        'purpose',
        'revokedAt',
        'rotatedFrom',
        'state',
        'tenantId',
      ].sort(),
    );
    expect((await listKeys(store.db)).length).toBeGreaterThan(2);
  });

  it('rotates: the old key works until the grace ends, the new one at once; a key rotates once', async () => {
    const tenantId = await store.tenant();
    const now = new Date();
    const old = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: new Date(now.getTime() + 30 * 24 * hour),
    });
    const { previous, created } = await rotateKey(
      store.db,
      masterKey,
      old.key.keyId,
      { graceMs: 24 * hour },
      now,
    );
    expect(previous.expiresAt).toEqual(new Date(now.getTime() + 24 * hour));
    expect(created.key).toMatchObject({
      tenantId,
      algorithm: 'hmac-sha256',
      rotatedFrom: old.key.keyId,
      state: 'active',
    });
    // The new key inherits the old one's lifetime.
    const lifetime = created.key.expiresAt!.getTime() - now.getTime();
    expect(Math.abs(lifetime - 30 * 24 * hour)).toBeLessThan(60_000);
    const servedOld = (await keys.get(old.key.keyId))!;
    expect(keyState(servedOld, new Date(now.getTime() + 23 * hour))).toBe('active');
    expect(keyState(servedOld, new Date(now.getTime() + 24 * hour))).toBe('expired');
    expect(verifiesWith(created.shownOnce, created.key.keyId, (await keys.get(created.key.keyId))!)).toBe(
      true,
    );
    await expect(rotateKey(store.db, masterKey, old.key.keyId, { graceMs: 0 })).rejects.toThrow(
      `key ${old.key.keyId} was already rotated to ${created.key.keyId}`,
    );
  });

  it('never extends a key by rotating it, and a grace of 0 ends the old key now', async () => {
    const tenantId = await store.tenant();
    const now = new Date();
    const soon = new Date(now.getTime() + hour);
    const old = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'ed25519',
      environment: 'live',
      expiresAt: soon,
    });
    const { previous } = await rotateKey(
      store.db,
      masterKey,
      old.key.keyId,
      { graceMs: 48 * hour, expiresAt: null },
      now,
    );
    expect(previous.expiresAt).toEqual(soon);
    const other = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'ed25519',
      environment: 'live',
      expiresAt: null,
    });
    const rotated = await rotateKey(store.db, masterKey, other.key.keyId, { graceMs: 0 }, now);
    expect(rotated.previous.expiresAt).toEqual(now);
    expect(rotated.created.key.expiresAt).toBeNull();
  });

  it('revokes at once and idempotently; revoked and unknown keys cannot be rotated', async () => {
    const tenantId = await store.tenant();
    const { key } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: null,
    });
    const first = await revokeKey(store.db, key.keyId);
    expect(first).toMatchObject({ alreadyRevoked: false, key: { state: 'revoked' } });
    const again = await revokeKey(store.db, key.keyId);
    expect(again).toMatchObject({ alreadyRevoked: true, key: { revokedAt: first.key.revokedAt } });
    await expect(rotateKey(store.db, masterKey, key.keyId, { graceMs: 0 })).rejects.toThrow(
      /is revoked; create a new key/,
    );
    const unknown = 'ck_live_000000000000000000000000';
    await expect(revokeKey(store.db, unknown)).rejects.toThrow(PolicyStoreError);
    await expect(
      createKey(store.db, masterKey, {
        tenantId: 'nobody',
        algorithm: 'ed25519',
        environment: 'live',
        expiresAt: null,
      }),
    ).rejects.toThrow(/tenant "nobody" does not exist/);
  });
});

describe('key store', () => {
  let otherDatabase: Database;
  let gatewayA: KeyStore;
  let gatewayB: KeyStore;
  beforeAll(async () => {
    // A second pool stands for a second gateway process.
    otherDatabase = createDatabase(store.environment.config.database);
    gatewayA = await createKeyStore(store.db, masterKey, { cacheTtlMs: hour });
    gatewayB = await createKeyStore(otherDatabase, masterKey, { cacheTtlMs: hour });
  });
  afterAll(async () => {
    await gatewayA.close();
    await gatewayB.close();
    await otherDatabase.close();
  });

  it('serves cached keys: a change nobody announced is seen only after the TTL', async () => {
    const tenantId = await store.tenant();
    const { key } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: null,
    });
    // Listening only from now on, so the announcement of the creation cannot arrive late and clear the cache.
    let clock = Date.now();
    const gateway = await createKeyStore(otherDatabase, masterKey, { cacheTtlMs: hour, now: () => clock });
    try {
      expect((await gateway.get(key.keyId))?.revokedAt).toBeNull();
      await store.db.query('UPDATE api_keys SET revoked_at = now() WHERE key_id = $1', [key.keyId]);
      expect((await gateway.get(key.keyId))?.revokedAt).toBeNull();
      clock += hour + 1;
      expect((await gateway.get(key.keyId))?.revokedAt).toBeInstanceOf(Date);
    } finally {
      await gateway.close();
    }
  });

  it('drops a revoked key from every running store within a second (NOTIFY)', async () => {
    const tenantId = await store.tenant();
    const { key } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'ed25519',
      environment: 'live',
      expiresAt: null,
    });
    expect(keyState((await gatewayA.get(key.keyId))!, new Date())).toBe('active');
    expect(keyState((await gatewayB.get(key.keyId))!, new Date())).toBe('active');
    await revokeKey(store.db, key.keyId);
    await vi.waitFor(
      async () => {
        expect(keyState((await gatewayB.get(key.keyId))!, new Date())).toBe('revoked');
        expect(keyState((await gatewayA.get(key.keyId))!, new Date())).toBe('revoked');
      },
      { timeout: 1000, interval: 20 },
    );
  });

  it('answers undefined for unknown and malformed ids, and shares one read among concurrent gets', async () => {
    expect(await gatewayA.get('ck_live_000000000000000000000000')).toBeUndefined();
    expect(await gatewayA.get("ck_live_x' OR 1=1 --")).toBeUndefined();
    const tenantId = await store.tenant();
    const { key } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: null,
    });
    const [a, b] = await Promise.all([gatewayA.get(key.keyId), gatewayA.get(key.keyId)]);
    expect(a).toBe(b);
  });

  it('refuses a wrong master key at start, and reports a secret that stops opening later', async () => {
    const tenantId = await store.tenant();
    const { key } = await createKey(store.db, masterKey, {
      tenantId,
      algorithm: 'hmac-sha256',
      environment: 'live',
      expiresAt: null,
    });
    await expect(createKeyStore(store.db, randomBytes(32), { cacheTtlMs: hour })).rejects.toBeInstanceOf(
      MasterKeyMismatchError,
    );
    const keys = await createKeyStore(store.db, masterKey, { cacheTtlMs: 0 });
    const [row] = await store.db.query<{ sealed: Buffer }>(
      'SELECT secret_ciphertext AS sealed FROM api_keys WHERE key_id = $1',
      [key.keyId],
    );
    const setSealed = (sealed: Buffer) =>
      store.db.query('UPDATE api_keys SET secret_ciphertext = $2 WHERE key_id = $1', [key.keyId, sealed]);
    try {
      await setSealed(sealSecret(randomBytes(32), key.keyId, randomBytes(32)));
      await expect(keys.get(key.keyId)).rejects.toThrow(SecretBoxError);
      expect(await keys.secretsReadable()).toBe(false);
      await setSealed(row!.sealed);
      expect(await keys.get(key.keyId)).toMatchObject({ keyId: key.keyId });
      expect(await keys.secretsReadable()).toBe(true);
    } finally {
      await keys.close();
    }
  });
});
