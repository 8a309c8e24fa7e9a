import { type KeyState, keyState, type SigningKey } from '../keys/signing-key.js';
import { type Rejected, reject } from './decision.js';

const keyRejections: Record<Exclude<KeyState, 'active'>, (key: SigningKey) => Rejected> = {
  revoked: (key) => reject('revoked_key', `key ${key.keyId} was revoked at ${key.revokedAt?.toISOString()}`),
  expired: (key) =>
    reject(
      'expired_key',
      `key ${key.keyId} expired at ${key.expiresAt?.toISOString()} (rotated keys stop at the end of their grace period)`,
    ),
};

/** Why a key may not be used at `now` (revoked or expired), the same words at every door; undefined while active. */
export function keyRefusal(key: SigningKey, now: Date): Rejected | undefined {
  const state = keyState(key, now);
  return state === 'active' ? undefined : keyRejections[state](key);
}
