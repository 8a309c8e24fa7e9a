import type { RejectionReason } from '../contracts/reasons.js';

/** The reasons a message can fail before its signature is even checked, or because of it. */
export type SignatureFailure = Extract<
  RejectionReason,
  'missing_header' | 'invalid_header' | 'bad_signature' | 'stale_timestamp'
>;

/** A signed message that cannot be accepted; `reason` is the stable code sent back to the producer. */
export class SignatureError extends Error {
  constructor(
    readonly reason: SignatureFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** Key material (a key id, secret, private or public key) that is malformed; never echoes the secret. */
export class KeyFormatError extends Error {
  readonly code = 'invalid_key_material';
  constructor(message: string) {
    super(message);
    this.name = 'KeyFormatError';
  }
}
