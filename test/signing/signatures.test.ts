import { createHash, createHmac, createPrivateKey, createPublicKey, sign as edSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assertFreshTimestamp,
  canonicalString,
  decodePublicKey,
  decodeSigningSecret,
  generateSigningKey,
  parseSignedHeaders,
  SignatureError,
  signJob,
  type VerificationKey,
  verifySignature,
} from '../../src/signing/index.js';
import { example, exampleCanonical } from './worked-example.js';

const body = Buffer.from(example.body, 'utf8');
const fields = {
  keyId: example.keyId,
  timestamp: example.timestamp,
  nonce: example.nonce,
  messageId: example.messageId,
  contentType: example.contentType,
};
const hmacKey: VerificationKey = { algorithm: 'hmac-sha256', secret: example.hmacSecretBytes };
const edPrivate = createPrivateKey({
  key: Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(Array.from({ length: 32 }, (_, index) => index + 32)),
  ]),
  format: 'der',
  type: 'pkcs8',
});
const edKey: VerificationKey = { algorithm: 'ed25519', publicKey: createPublicKey(edPrivate) };

function signed(secretText: string, overrides: Partial<Parameters<typeof signJob>[0]> = {}) {
  return signJob({ ...fields, secret: decodeSigningSecret(secretText), body, ...overrides }).headers;
}

describe('the worked example, computed independently with node:crypto', () => {
  it('has the body digest and canonical string of the specification', () => {
    expect(createHash('sha256').update(example.body).digest('hex')).toBe(example.bodySha256);
    expect(canonicalString(fields, body)).toBe(exampleCanonical);
  });

  it('signs v1 as HMAC-SHA256 over the canonical string, lowercase hex', () => {
    const independent = `v1=${createHmac('sha256', example.hmacSecretBytes).update(exampleCanonical).digest('hex')}`;
    expect(independent).toBe(example.v1);
    expect(signed(example.hmacSecretText)).toEqual({
      'cc-key-id': example.keyId,
      'cc-timestamp': '1767225600',
      'cc-nonce': example.nonce,
      'cc-signature': example.v1,
    });
  });

  it('signs v2 as Ed25519 over the canonical string, base64url without padding', () => {
    const independent = `v2=${edSign(null, Buffer.from(exampleCanonical), edPrivate).toString('base64url')}`;
    expect(independent).toBe(example.v2);
    expect(signed(example.ed25519PrivateKeyText)['cc-signature']).toBe(example.v2);
    expect(createPublicKey(edPrivate).export({ format: 'der', type: 'spki' }).toString('base64url')).toBe(
      example.ed25519PublicKeyText,
    );
  });

  it('is printed, value for value, in docs/protocol.md', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    for (const value of [
      example.keyId,
      example.hmacSecretText,
      example.ed25519PrivateKeyText,
      example.ed25519PublicKeyText,
      example.nonce,
      example.messageId,
      example.body,
      example.bodySha256,
      example.v1,
      example.v2,
      exampleCanonical,
    ]) {
      expect(doc).toContain(value);
    }
  });
});

describe('verifySignature', () => {
  const parsed = (headers: Record<string, string>) =>
    parseSignedHeaders(headers, example.messageId, example.contentType);

  it('accepts the example under the right key: HMAC with the secret, Ed25519 with only the public key', () => {
    expect(verifySignature(parsed(signed(example.hmacSecretText)), body, hmacKey)).toBe(true);
    const publicOnly: VerificationKey = {
      algorithm: 'ed25519',
      publicKey: decodePublicKey(example.ed25519PublicKeyText),
    };
    expect(verifySignature(parsed(signed(example.ed25519PrivateKeyText)), body, publicOnly)).toBe(true);
  });

  it('refuses a tampered body, one byte changed', () => {
    const tampered = Buffer.from(example.body.replace('red.jpg', 'rex.jpg'));
    expect(verifySignature(parsed(signed(example.hmacSecretText)), tampered, hmacKey)).toBe(false);
    expect(verifySignature(parsed(signed(example.ed25519PrivateKeyText)), tampered, edKey)).toBe(false);
  });

  it('refuses each signed field changed after signing', () => {
    const headers = signed(example.hmacSecretText);
    const changes = [
      parseSignedHeaders(
        { ...headers, 'cc-timestamp': '1767225601' },
        example.messageId,
        example.contentType,
      ),
      parseSignedHeaders(
        { ...headers, 'cc-nonce': `${example.nonce}A` },
        example.messageId,
        example.contentType,
      ),
      parseSignedHeaders(
        { ...headers, 'cc-key-id': 'ck_live_5rXqJ2mP8vN4kL7wZ9tB3cYd' },
        example.messageId,
        example.contentType,
      ),
      parseSignedHeaders(headers, 'another-job', example.contentType),
      parseSignedHeaders(headers, example.messageId, 'application/json; charset=utf-8'),
    ];
    for (const changed of changes) expect(verifySignature(changed, body, hmacKey)).toBe(false);
  });

  it('refuses a signature made with another key', () => {
    const other = generateSigningKey('hmac-sha256', 'test');
    expect(verifySignature(parsed(signed(other.shownOnce)), body, hmacKey)).toBe(false);
    const otherEd = generateSigningKey('ed25519', 'test');
    expect(verifySignature(parsed(signed(otherEd.shownOnce)), body, edKey)).toBe(false);
  });

  it('refuses a signature version that does not fit the key algorithm', () => {
    expect(verifySignature(parsed(signed(example.hmacSecretText)), body, edKey)).toBe(false);
    expect(verifySignature(parsed(signed(example.ed25519PrivateKeyText)), body, hmacKey)).toBe(false);
  });

  it('refuses an HMAC that differs in its last byte only', () => {
    const headers = signed(example.hmacSecretText);
    const last = headers['cc-signature'].at(-1) === '0' ? '1' : '0';
    const forged = { ...headers, 'cc-signature': headers['cc-signature'].slice(0, -1) + last };
    expect(verifySignature(parsed(forged), body, hmacKey)).toBe(false);
  });
});

describe('assertFreshTimestamp', () => {
  const headers = parseSignedHeaders(signed(example.hmacSecretText), example.messageId, example.contentType);
  const signedAtMs = example.timestamp * 1000;

  it('is fresh strictly inside the window: 1 ms inside passes, the edge itself does not, either way', () => {
    expect(() => assertFreshTimestamp(headers, signedAtMs + 299_999, 300_000)).not.toThrow();
    expect(() => assertFreshTimestamp(headers, signedAtMs - 299_999, 300_000)).not.toThrow();
    for (const now of [signedAtMs + 300_000, signedAtMs - 300_000, signedAtMs + 301_000]) {
      const error = catchError(() => assertFreshTimestamp(headers, now, 300_000));
      expect(error).toBeInstanceOf(SignatureError);
      expect((error as SignatureError).reason).toBe('stale_timestamp');
    }
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
