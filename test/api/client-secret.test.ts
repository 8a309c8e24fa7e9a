import { describe, expect, it } from 'vitest';
import { clientSecretRefused, verifyClientSecret } from '../../src/api/client-secret.js';
import type { SigningKey } from '../../src/keys/signing-key.js';
import { encodeHmacSecret, generateHmacSecret, generateKeyId } from '../../src/signing/index.js';

// POST /oauth/token by secret: every failure gives the unauthenticated caller the same words, and
// only the server log learns which it was (the detail names the key and, for a signing key, its tenant).

const now = new Date('2026-01-01T00:00:00Z');
const secret = generateHmacSecret();
const key = (changes: Partial<SigningKey> = {}): SigningKey =>
  ({
    keyId: generateKeyId('test'),
    tenantId: 'acme',
    purpose: 'event-source',
    environment: 'test',
    createdAt: new Date('2025-01-01T00:00:00Z'),
    expiresAt: null,
    revokedAt: null,
    algorithm: 'hmac-sha256',
    secret: secret.secret,
    ...changes,
  }) as SigningKey;

async function attempt(stored: SigningKey | undefined, clientId: string, given = encodeHmacSecret(secret)) {
  return verifyClientSecret(
    { method: 'client_secret_basic', clientId, secret: given },
    { getKey: async (id) => (id === stored?.keyId ? stored : undefined), now },
  );
}

describe('verifyClientSecret', () => {
  it('accepts the secret of an active event-source key', async () => {
    const source = key();
    expect(await attempt(source, source.keyId)).toEqual({
      client: { tenantId: 'acme', keyId: source.keyId },
    });
  });

  it('refuses an unknown key, a wrong secret, a signing key, a revoked or expired key with one text', async () => {
    const signing = key({ purpose: 'signing' });
    const revoked = key({ revokedAt: new Date('2025-06-01T00:00:00Z') });
    const expired = key({ expiresAt: new Date('2025-12-31T00:00:00Z') });
    const source = key();
    const cases = [
      { result: await attempt(undefined, generateKeyId('test')), why: /^no key ck_test_/ },
      { result: await attempt(source, 'not-a-key-id'), why: /not a key id/ },
      {
        result: await attempt(source, source.keyId, encodeHmacSecret(generateHmacSecret())),
        why: /client secret is wrong/,
      },
      { result: await attempt(source, source.keyId, 'cks_short'), why: /not an HMAC secret/ },
      { result: await attempt(signing, signing.keyId), why: /\(tenant acme\) is a signing key/ },
      { result: await attempt(revoked, revoked.keyId), why: /revoked/ },
      { result: await attempt(expired, expired.keyId), why: /expired/ },
    ];
    for (const { result, why } of cases) {
      expect(result).toMatchObject({ error: 'invalid_client', description: clientSecretRefused });
      expect('detail' in result && result.detail).toMatch(why);
    }
    expect(clientSecretRefused).not.toMatch(/acme|ck_test_/);
  });
});
