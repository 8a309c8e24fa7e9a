import type { KeyObject } from 'node:crypto';
import type { KeyEnvironment } from '../signing/keys.js';

/**
 * A key as the gateway verifies with it. The algorithm part is a `VerificationKey` of
 * src/signing/keys.ts, so a SigningKey can be handed to `verifySignature` as it is.
 */
/**
 * `signing`: signs jobs and requests, or client assertions. `event-source`: an HMAC key whose
 * secret an EventBridge connection sends to POST /oauth/token for POST /v1/events/s3; it signs nothing.
 */
export type KeyPurpose = 'signing' | 'event-source';
export const keyPurposes: readonly KeyPurpose[] = ['signing', 'event-source'];

export type SigningKey = {
  readonly keyId: string;
  readonly tenantId: string;
  readonly purpose: KeyPurpose;
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
