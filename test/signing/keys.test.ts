import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodePublicKey,
  decodeSigningSecret,
  ed25519PrivateKeyPem,
  encodeHmacSecret,
  encodePublicKey,
  generateEd25519KeyPair,
  generateHmacSecret,
  generateKeyId,
  generateSigningKey,
  isKeyId,
  KeyFormatError,
  parseKeyId,
} from '../../src/signing/index.js';
import { example } from './worked-example.js';

describe('key ids', () => {
  it('are ck_<env>_ and 24 base62 characters, unique, and parse back to their environment', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateKeyId('live')));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^ck_live_[0-9A-Za-z]{24}$/);
    expect(parseKeyId(generateKeyId('test'))).toMatchObject({ environment: 'test' });
    expect(isKeyId(example.keyId)).toBe(true);
  });

  it('refuses anything else', () => {
    for (const text of [
      '',
      'ck_live_',
      'ck_dev_5rXqJ2mP8vN4kL7wZ9tB3cYd',
      'ck_live_5rXqJ2mP8vN4kL7wZ9tB3cY!',
      ' ck_live_5rXqJ2mP8vN4kL7wZ9tB3cYd',
    ]) {
      expect(() => parseKeyId(text)).toThrow(KeyFormatError);
      expect(isKeyId(text)).toBe(false);
    }
  });
});

describe('HMAC secrets', () => {
  it('are cks_ and base64url of 32 random bytes, and decode back to the bytes', () => {
    const secret = generateHmacSecret();
    expect(secret.secret).toHaveLength(32);
    const text = encodeHmacSecret(secret);
    expect(text).toMatch(/^cks_[A-Za-z0-9_-]{43}$/);
    expect(decodeSigningSecret(`${text}\n`)).toEqual(secret);
    expect(decodeSigningSecret(example.hmacSecretText)).toEqual({
      algorithm: 'hmac-sha256',
      secret: example.hmacSecretBytes,
    });
  });

  it('refuses wrong lengths and alphabets without echoing the secret', () => {
    for (const text of [
      'cks_',
      `cks_${randomBytes(31).toString('base64url')}`,
      `cks_${randomBytes(32).toString('base64')}==`,
      'hunter2',
    ]) {
      let message = '';
      try {
        decodeSigningSecret(text);
      } catch (error) {
        expect(error).toBeInstanceOf(KeyFormatError);
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      if (text.length > 4) expect(message).not.toContain(text.slice(4));
    }
  });
});

describe('Ed25519 keys', () => {
  it('private keys are cked_ + base64url PKCS#8 DER, or PEM, and sign what the public key verifies', () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const fromText = decodeSigningSecret(
      `cked_${privateKey.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url')}`,
    );
    const fromPem = decodeSigningSecret(ed25519PrivateKeyPem(privateKey));
    for (const decoded of [fromText, fromPem]) {
      if (decoded.algorithm !== 'ed25519') throw new Error('expected an Ed25519 key');
      const signature = sign(null, Buffer.from('x'), decoded.privateKey);
      expect(verify(null, Buffer.from('x'), publicKey, signature)).toBe(true);
    }
  });

  it('public keys are stored as base64url SPKI DER and decode from it or from PEM', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const stored = encodePublicKey(publicKey);
    expect(stored).toMatch(/^[A-Za-z0-9_-]{59}$/);
    expect(decodePublicKey(stored).equals(publicKey)).toBe(true);
    expect(
      decodePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString()).equals(publicKey),
    ).toBe(true);
    const examplePrivate = decodeSigningSecret(example.ed25519PrivateKeyText);
    if (examplePrivate.algorithm !== 'ed25519') throw new Error('expected an Ed25519 key');
    expect(encodePublicKey(createPublicKey(examplePrivate.privateKey))).toBe(example.ed25519PublicKeyText);
  });

  it('refuses keys of other algorithms and garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const x25519 = generateKeyPairSync('x25519');
    expect(() => decodePublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow(
      /not an Ed25519 public key/,
    );
    expect(() =>
      decodePublicKey(x25519.publicKey.export({ format: 'der', type: 'spki' }).toString('base64url')),
    ).toThrow(KeyFormatError);
    expect(() => decodePublicKey('not base64!')).toThrow(KeyFormatError);
    expect(() => decodePublicKey(randomBytes(44).toString('base64url'))).toThrow(KeyFormatError);
    expect(() =>
      decodeSigningSecret(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    ).toThrow(/Ed25519/);
    expect(() => decodeSigningSecret(`cked_${randomBytes(48).toString('base64url')}`)).toThrow(
      KeyFormatError,
    );
    expect(() =>
      encodePublicKey(createPrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }))),
    ).toThrow(KeyFormatError);
  });
});

describe('generateSigningKey', () => {
  it('makes an HMAC key: the secret bytes to store encrypted and the text shown once', () => {
    const key = generateSigningKey('hmac-sha256', 'live');
    if (key.algorithm !== 'hmac-sha256') throw new Error('expected HMAC');
    expect(parseKeyId(key.keyId).environment).toBe('live');
    expect(decodeSigningSecret(key.shownOnce)).toEqual({ algorithm: 'hmac-sha256', secret: key.secret });
  });

  it('makes an Ed25519 key: only the public key to store, the private key shown once', () => {
    const key = generateSigningKey('ed25519', 'test');
    if (key.algorithm !== 'ed25519') throw new Error('expected Ed25519');
    expect(key.environment).toBe('test');
    const secret = decodeSigningSecret(key.shownOnce);
    if (secret.algorithm !== 'ed25519') throw new Error('expected Ed25519');
    expect(createPublicKey(secret.privateKey).equals(decodePublicKey(key.publicKey))).toBe(true);
    expect(JSON.stringify(key)).not.toContain('PRIVATE');
  });
});
