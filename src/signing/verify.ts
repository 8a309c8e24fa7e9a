import { createHmac, timingSafeEqual, verify } from 'node:crypto';
import { canonicalString } from './canonical.js';
import { SignatureError } from './errors.js';
import type { ParsedSignature, SignedHeaders } from './headers.js';
import type { VerificationKey } from './keys.js';

/**
 * True when the signature matches the canonical string of these headers and body under `key`.
 * A signature version that does not fit the key's algorithm (v1 with an Ed25519 key) is false.
 */
export function verifySignature(parsed: SignedHeaders, body: Buffer, key: VerificationKey): boolean {
  return verifyCanonical(Buffer.from(canonicalString(parsed, body), 'utf8'), parsed.signature, key);
}

/** True when `signature` signs these canonical bytes under `key` (any canonical layout: AMQP or HTTP). */
export function verifyCanonical(
  canonical: Buffer,
  signature: ParsedSignature,
  key: VerificationKey,
): boolean {
  if (key.algorithm === 'hmac-sha256') {
    if (signature.version !== 1) return false;
    const expected = createHmac('sha256', key.secret).update(canonical).digest();
    // Lengths are equal by construction (the header pattern fixes 32 bytes); check anyway, timingSafeEqual throws otherwise.
    return expected.length === signature.bytes.length && timingSafeEqual(expected, signature.bytes);
  }
  if (signature.version !== 2) return false;
  return verify(null, canonical, key.publicKey, signature.bytes);
}

/**
 * Throws stale_timestamp unless the signed time is strictly less than `windowMs` from `nowMs`,
 * either way. Strict on both sides, like the nonce's life (src/admission/nonces.ts): a message
 * signed at t is fresh exactly while t − window < now < t + window, and its nonce is held until
 * t + window, so no instant exists at which a copy is fresh and its nonce free.
 */
export function assertFreshTimestamp(
  parsed: Pick<SignedHeaders, 'timestamp'>,
  nowMs: number,
  windowMs: number,
): void {
  const skewMs = Math.abs(nowMs - parsed.timestamp * 1000);
  if (skewMs >= windowMs) {
    const direction = parsed.timestamp * 1000 < nowMs ? 'old' : 'in the future';
    throw new SignatureError(
      'stale_timestamp',
      `cc-timestamp is ${Math.round(skewMs / 1000)} s ${direction}; it must be less than ${Math.round(windowMs / 1000)} s from the gateway's clock (check the producer's clock)`,
    );
  }
}
