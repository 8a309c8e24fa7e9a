import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.js';

// HMAC secrets at rest: AES-256-GCM under the master key (CLEARCUT_MASTER_KEY).
// Sealed form: version byte 1 ‖ 12-byte IV ‖ 16-byte tag ‖ ciphertext. The key id is the additional
// authenticated data, so a ciphertext copied onto another key's row does not open.

const version = 1;
const ivBytes = 12;
const tagBytes = 16;
const masterKeyBytes = 32;
const howToMakeOne =
  'Make one with `openssl rand -base64 32`, keep it in your secret store, and give every gateway and admin the same value';

/**
 * The master key from configuration (or, for `clearcut keys reseal`, the variable `name`); refuses
 * to go on without a valid one, saying how to make one.
 */
export function requireMasterKey(configured: string | undefined, name = 'CLEARCUT_MASTER_KEY'): Buffer {
  if (configured === undefined) {
    throw new ConfigError([
      `${name} is not set: it encrypts the HMAC key secrets stored in PostgreSQL. ${howToMakeOne}.`,
    ]);
  }
  const bytes = Buffer.from(configured.trim(), 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(configured.trim()) || bytes.length !== masterKeyBytes) {
    throw new ConfigError([
      `${name}=(value hidden) is invalid: expected base64 of exactly ${masterKeyBytes} bytes. ${howToMakeOne}.`,
    ]);
  }
  return bytes;
}

/** A sealed secret that does not open: the master key differs from the one that sealed it, or the row was altered. */
export class SecretBoxError extends Error {
  readonly code = 'secret_unreadable';
  constructor(keyId: string) {
    super(
      `cannot decrypt the secret of key ${keyId}: CLEARCUT_MASTER_KEY is not the key it was encrypted with, or the stored value was altered`,
    );
    this.name = 'SecretBoxError';
  }
}

export function sealSecret(masterKey: Buffer, keyId: string, secret: Buffer): Buffer {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(keyId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
  return Buffer.concat([Buffer.from([version]), iv, cipher.getAuthTag(), ciphertext]);
}

export function openSecret(masterKey: Buffer, keyId: string, sealed: Buffer): Buffer {
  const headerBytes = 1 + ivBytes + tagBytes;
  if (sealed.length <= headerBytes || sealed[0] !== version) throw new SecretBoxError(keyId);
  const decipher = createDecipheriv('aes-256-gcm', masterKey, sealed.subarray(1, 1 + ivBytes));
  decipher.setAAD(Buffer.from(keyId, 'utf8'));
  decipher.setAuthTag(sealed.subarray(1 + ivBytes, headerBytes));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(headerBytes)), decipher.final()]);
  } catch {
    throw new SecretBoxError(keyId);
  }
}
