import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { openSecret, requireMasterKey, SecretBoxError, sealSecret } from '../../src/keys/secret-box.js';

const keyId = 'ck_live_AAAAAAAAAAAAAAAAAAAAAAAA';

describe('secret box', () => {
  const masterKey = randomBytes(32);
  const secret = randomBytes(32);

  it('round-trips a secret, with a fresh IV each time, never containing the secret', () => {
    const sealed = sealSecret(masterKey, keyId, secret);
    expect(openSecret(masterKey, keyId, sealed)).toEqual(secret);
    expect(sealed.includes(secret)).toBe(false);
    expect(sealed).toHaveLength(1 + 12 + 16 + 32);
    expect(sealSecret(masterKey, keyId, secret).equals(sealed)).toBe(false);
  });

  it('does not open under another master key, for another key id, or when altered', () => {
    const sealed = sealSecret(masterKey, keyId, secret);
    expect(() => openSecret(randomBytes(32), keyId, sealed)).toThrow(SecretBoxError);
    expect(() => openSecret(masterKey, 'ck_live_BBBBBBBBBBBBBBBBBBBBBBBB', sealed)).toThrow(SecretBoxError);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    expect(() => openSecret(masterKey, keyId, altered)).toThrow(
      /CLEARCUT_MASTER_KEY is not the key it was encrypted with/,
    );
    expect(() => openSecret(masterKey, keyId, sealed.subarray(0, 20))).toThrow(SecretBoxError);
  });
});

describe('requireMasterKey', () => {
  it('accepts base64 of 32 bytes', () => {
    const key = randomBytes(32);
    expect(requireMasterKey(key.toString('base64'))).toEqual(key);
  });

  it('refuses to go on without one, and says how to make one', () => {
    expect(() => requireMasterKey(undefined)).toThrow(ConfigError);
    expect(() => requireMasterKey(undefined)).toThrow(
      /CLEARCUT_MASTER_KEY is not set.*openssl rand -base64 32/s,
    );
  });

  it('refuses the wrong length or non-base64 without echoing the value', () => {
    const short = randomBytes(16).toString('base64');
    for (const wrong of [short, 'not base64 at all!!', `${randomBytes(32).toString('hex')}`]) {
      const error = (() => {
        try {
          requireMasterKey(wrong);
        } catch (caught) {
          return caught as Error;
        }
      })();
      expect(error?.message).toMatch(/expected base64 of exactly 32 bytes.*openssl rand -base64 32/s);
      expect(error?.message).not.toContain(wrong);
    }
  });
});
