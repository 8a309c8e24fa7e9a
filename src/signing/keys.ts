import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { keyIdPattern } from '../contracts/identifiers.js';
import { KeyFormatError } from './errors.js';

// Key material formats, shared by `clearcut keys` (which makes keys), the gateway (which verifies
// with them) and producers (which sign with them). docs/protocol.md describes each text form.
//
//   key id            ck_live_<24 base62>  |  ck_test_<24 base62>        public, in every message
//   HMAC secret       cks_<base64url of 32 random bytes>                shown once; stored encrypted
//   Ed25519 private   cked_<base64url of PKCS#8 DER>  (or PKCS#8 PEM)    shown once; never stored
//   Ed25519 public    <base64url of SPKI DER>         (or SPKI PEM)      what the server stores

export const keyEnvironments = ['live', 'test'] as const;
export type KeyEnvironment = (typeof keyEnvironments)[number];
export const keyAlgorithms = ['hmac-sha256', 'ed25519'] as const;
export type KeyAlgorithm = (typeof keyAlgorithms)[number];

export interface HmacSecret {
  readonly algorithm: 'hmac-sha256';
  readonly secret: Buffer;
}
export interface Ed25519PrivateKey {
  readonly algorithm: 'ed25519';
  readonly privateKey: KeyObject;
}
/** What a producer signs with. */
export type SigningSecret = HmacSecret | Ed25519PrivateKey;
/** What the gateway verifies with: for Ed25519 only the public key exists on the server. */
export type VerificationKey =
  | { readonly algorithm: 'hmac-sha256'; readonly secret: Buffer }
  | { readonly algorithm: 'ed25519'; readonly publicKey: KeyObject };

const keyIdBodyLength = 24;
export const hmacSecretBytes = 32;
const hmacSecretPrefix = 'cks_';
const ed25519PrivateKeyPrefix = 'cked_';
const base64url = /^[A-Za-z0-9_-]+$/;
const base62Alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniform base62 (rejection sampling: bytes ≥ 248 would bias the first 62 % 256 letters). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += base62Alphabet[byte % 62];
    }
  }
  return out;
}

export function generateKeyId(environment: KeyEnvironment): string {
  return `ck_${environment}_${randomBase62(keyIdBodyLength)}`;
}

export function isKeyId(text: unknown): text is string {
  return typeof text === 'string' && keyIdPattern.test(text);
}

/** The environment a key id belongs to; throws KeyFormatError for anything that is not a key id. */
export function parseKeyId(text: string): { keyId: string; environment: KeyEnvironment } {
  const match = keyIdPattern.exec(text);
  if (!match) {
    throw new KeyFormatError(
      `not a key id: expected ck_live_ or ck_test_ followed by ${keyIdBodyLength} letters and digits`,
    );
  }
  return { keyId: text, environment: match[1] as KeyEnvironment };
}

export function generateHmacSecret(): HmacSecret {
  return { algorithm: 'hmac-sha256', secret: randomBytes(hmacSecretBytes) };
}

export function encodeHmacSecret(secret: HmacSecret): string {
  return `${hmacSecretPrefix}${secret.secret.toString('base64url')}`;
}

export function generateEd25519KeyPair(): { privateKey: Ed25519PrivateKey; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey: { algorithm: 'ed25519', privateKey }, publicKey };
}

export function encodeEd25519PrivateKey(key: Ed25519PrivateKey): string {
  const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  return `${ed25519PrivateKeyPrefix}${der.toString('base64url')}`;
}

export function ed25519PrivateKeyPem(key: Ed25519PrivateKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** The stored (and shareable) form of an Ed25519 public key: base64url SPKI DER. */
export function encodePublicKey(publicKey: KeyObject): string {
  requireEd25519(publicKey, 'public');
  return publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
}

/** Accepts base64url SPKI DER (the stored form) or an SPKI PEM block; only Ed25519 keys. */
export function decodePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey({ key: trimmed, format: 'pem' })
      : createPublicKey({ key: decodeBase64url(trimmed), format: 'der', type: 'spki' });
  } catch (error) {
    if (error instanceof KeyFormatError) throw error;
    throw new KeyFormatError('not an Ed25519 public key: expected base64url SPKI DER or a PEM block');
  }
  requireEd25519(key, 'public');
  return key;
}

/**
 * Reads the secret a producer was given: `cks_…` (HMAC), `cked_…` or a PKCS#8 PEM block (Ed25519).
 * Error messages never include the text, which is a secret.
 */
export function decodeSigningSecret(text: string): SigningSecret {
  const trimmed = text.trim();
  if (trimmed.startsWith(hmacSecretPrefix)) {
    const bytes = decodeBase64url(trimmed.slice(hmacSecretPrefix.length));
    if (bytes.length !== hmacSecretBytes) {
      throw new KeyFormatError(
        `not an HMAC secret: cks_ must be followed by ${hmacSecretBytes} bytes in base64url`,
      );
    }
    return { algorithm: 'hmac-sha256', secret: bytes };
  }
  const pem = trimmed.startsWith('-----BEGIN');
  if (!pem && !trimmed.startsWith(ed25519PrivateKeyPrefix)) {
    throw new KeyFormatError(
      'not a signing secret: expected cks_… (HMAC), cked_… or a PKCS#8 PEM block (Ed25519), as printed by `clearcut keys create`',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = pem
      ? createPrivateKey({ key: trimmed, format: 'pem' })
      : createPrivateKey({
          key: decodeBase64url(trimmed.slice(ed25519PrivateKeyPrefix.length)),
          format: 'der',
          type: 'pkcs8',
        });
  } catch {
    throw new KeyFormatError(
      'not an Ed25519 private key: expected PKCS#8 DER in base64url after cked_, or PEM',
    );
  }
  requireEd25519(privateKey, 'private');
  return { algorithm: 'ed25519', privateKey };
}

/** A new key as `clearcut keys create` makes it: what to store, and the text to show exactly once. */
export type NewSigningKey =
  | {
      readonly keyId: string;
      readonly environment: KeyEnvironment;
      readonly algorithm: 'hmac-sha256';
      /** Raw secret bytes, to be stored encrypted. */
      readonly secret: Buffer;
      readonly shownOnce: string;
    }
  | {
      readonly keyId: string;
      readonly environment: KeyEnvironment;
      readonly algorithm: 'ed25519';
      /** base64url SPKI DER, stored as is. */
      readonly publicKey: string;
      readonly shownOnce: string;
    };

export function generateSigningKey(algorithm: KeyAlgorithm, environment: KeyEnvironment): NewSigningKey {
  const keyId = generateKeyId(environment);
  if (algorithm === 'hmac-sha256') {
    const secret = generateHmacSecret();
    return { keyId, environment, algorithm, secret: secret.secret, shownOnce: encodeHmacSecret(secret) };
  }
  const pair = generateEd25519KeyPair();
  return {
    keyId,
    environment,
    algorithm,
    publicKey: encodePublicKey(pair.publicKey),
    shownOnce: encodeEd25519PrivateKey(pair.privateKey),
  };
}

function decodeBase64url(text: string): Buffer {
  if (!base64url.test(text)) throw new KeyFormatError('key material is not base64url (A-Z a-z 0-9 - _)');
  return Buffer.from(text, 'base64url');
}

function requireEd25519(key: KeyObject, kind: 'public' | 'private'): void {
  if (key.type !== kind || key.asymmetricKeyType !== 'ed25519') {
    throw new KeyFormatError(
      `not an Ed25519 ${kind} key (got ${key.asymmetricKeyType ?? key.type} ${key.type})`,
    );
  }
}
