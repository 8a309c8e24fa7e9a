import { createHmac, randomBytes, sign } from 'node:crypto';
import { canonicalString } from './canonical.js';
import { nonceBytes, parseSignedHeaders, type SigningHeaders } from './headers.js';
import type { SigningSecret } from './keys.js';

export interface SignJobInput {
  readonly keyId: string;
  readonly secret: SigningSecret;
  /** The AMQP message_id: the job id. */
  readonly messageId: string;
  /** The AMQP content_type, exactly as it will be sent. */
  readonly contentType: string;
  /** The exact body bytes that will be published. */
  readonly body: Buffer;
  /** Unix seconds; defaults to now. */
  readonly timestamp?: number;
  /** Defaults to 16 random bytes in base64url. */
  readonly nonce?: string;
}

/**
 * The four signing headers for one message. Runs the gateway's own header validation on the
 * result, so a producer learns about a bad job id or content type here, not from a rejection.
 */
export function signJob(input: SignJobInput): { headers: SigningHeaders } {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomBytes(nonceBytes).toString('base64url');
  const fields = {
    keyId: input.keyId,
    timestamp,
    nonce,
    messageId: input.messageId,
    contentType: input.contentType,
  };
  const signature = signatureFor(Buffer.from(canonicalString(fields, input.body), 'utf8'), input.secret);
  const headers: SigningHeaders = {
    'cc-key-id': input.keyId,
    'cc-timestamp': String(timestamp),
    'cc-nonce': nonce,
    'cc-signature': signature,
  };
  parseSignedHeaders(headers, input.messageId, input.contentType);
  return { headers };
}

/** The cc-signature value of canonical bytes: `v1=` hex HMAC-SHA256 or `v2=` base64url Ed25519. */
export function signatureFor(canonical: Buffer, secret: SigningSecret): string {
  return secret.algorithm === 'hmac-sha256'
    ? `v1=${createHmac('sha256', secret.secret).update(canonical).digest('hex')}`
    : `v2=${sign(null, canonical, secret.privateKey).toString('base64url')}`;
}
