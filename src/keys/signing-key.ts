import type { KeyObject } from 'node:crypto';
import type { KeyEnvironment } from '../signing/keys.js';

/**
 * A key as the gateway verifies with it. The algorithm part is a `VerificationKey` of
 * src/signing/keys.ts, so a SigningKey can be handed to `verifySignature` as it is.
 */
export type SigningKey = {
  readonly keyId: string;
  readonly tenantId: string;
  readonly environment: KeyEnvironment;
  readonly createdAt: Date;
  /** Null: never expires. A rotated key expires when its grace period ends. */
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
} & (
  | { readonly algorithm: 'hmac-sha256'; readonly secret: Buffer }
  | { readonly algorithm: 'ed25519'; readonly publicKey: KeyObject }
);

export type KeyState = 'active' | 'revoked' | 'expired';

/**
 * Revocation is immediate whatever the clocks say, and wins over expiry: a revoked key is reported
 * as revoked even after it would have expired.
 */
export function keyState(key: Pick<SigningKey, 'expiresAt' | 'revokedAt'>, now: Date): KeyState {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}
