// Stable reason codes of a `rejected` result event and of an audit row. Producers switch on these
// strings, so they are part of the wire format: add new ones, never rename or remove one.

export const rejectionReasons = [
  /** The message body is larger than the gateway reads (CLEARCUT_MAX_BODY_BYTES). */
  'body_too_large',
  /** A signing header or AMQP property (cc-key-id, cc-timestamp, cc-nonce, cc-signature, message_id, content_type) is absent. */
  'missing_header',
  /** A signing header or property is present but malformed (format, length, control characters, signature version). */
  'invalid_header',
  'unknown_key',
  'revoked_key',
  'expired_key',
  /** The signature does not match the canonical string under the key (tampered body, wrong key, wrong algorithm). */
  'bad_signature',
  /** cc-timestamp is outside the gateway's window (CLEARCUT_TIMESTAMP_WINDOW). */
  'stale_timestamp',
  /** cc-nonce was already used by this key inside the window. */
  'replayed_nonce',
  /** The body is not JSON or does not match the job schema; `detail` lists the problems. */
  'invalid_body',
  /** The job names a model the service does not have. */
  'unknown_model',
  /** The tenant has no read grant on an input location or no write grant on the output. */
  'forbidden_location',
  /** The tenant's job rate (token bucket) is exhausted; `retryAfterSeconds` says when to try again. */
  'rate_limited',
  /** The tenant's daily or monthly image quota cannot cover the job. */
  'quota_exceeded',
  /** The job lists more items than the tenant's maximum per job. */
  'too_many_items',
  /** This tenant already submitted a job with this message id; it is not run again. */
  'duplicate',
] as const;

export type RejectionReason = (typeof rejectionReasons)[number];

export function isRejectionReason(value: unknown): value is RejectionReason {
  return typeof value === 'string' && (rejectionReasons as readonly string[]).includes(value);
}
