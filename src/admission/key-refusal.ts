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

/**
 * Why a key may not sign (a job, a request, a client assertion) at `now`: keyRefusal, or an
 * event-source key, whose secret travels in plain to POST /oauth/token and so must sign nothing.
 */
export function signingKeyRefusal(key: SigningKey, now: Date): Rejected | undefined {
  if (key.purpose === 'event-source') {
    return reject(
      'unknown_key',
      `key ${key.keyId} is an event-source key: it gets tokens for POST /v1/events/s3 with its secret and signs nothing; sign with a key made by \`clearcut keys create --tenant ${key.tenantId}\``,
    );
  }
  return keyRefusal(key, now);
}
