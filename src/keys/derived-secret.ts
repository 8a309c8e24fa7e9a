import { hkdfSync } from 'node:crypto';

// Secrets the servers derive from the master key by HKDF (SHA-256), one per purpose: no second
// secret must be provisioned, every process derives the same bytes, and a key for one purpose
// (API access tokens, dashboard sessions) can never verify another's tokens.

export function deriveSecret(masterKey: Buffer, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterKey, new Uint8Array(0), purpose, 32));
}
