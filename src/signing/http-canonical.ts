import { randomBytes } from 'node:crypto';
import { bodyDigest } from './canonical.js';
import { nonceBytes, type SigningHeaders } from './headers.js';
import type { SigningSecret } from './keys.js';
import { signatureFor } from './sign.js';

// The canonical string of a signed HTTP request (docs/protocol.md, "Signed HTTP requests"). It has
// its own first line, so a signature over a job message can never pass for a request and back.

export const httpCanonicalTag = 'clearcut-http-v1';

export interface HttpCanonicalFields {
  readonly keyId: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly nonce: string;
  /** Upper case, as sent: GET, POST. */
  readonly method: string;
  /** The request target exactly as sent: the path and, when present, `?` and the query. */
  readonly target: string;
  /** The Idempotency-Key header (the job id of POST /v1/jobs); empty when absent. */
  readonly idempotencyKey: string;
  /** The Content-Type header exactly as sent; empty when absent. */
  readonly contentType: string;
}

/** `\n`-joined, no trailing newline; the last line is the hex SHA-256 of the body (of 0 bytes for none). */
export function httpCanonicalString(fields: HttpCanonicalFields, body: Buffer): string {
  return [
    httpCanonicalTag,
    fields.keyId,
    String(fields.timestamp),
    fields.nonce,
    fields.method,
    fields.target,
    fields.idempotencyKey,
    fields.contentType,
    bodyDigest(body),
  ].join('\n');
}

export interface SignHttpInput extends Omit<HttpCanonicalFields, 'timestamp' | 'nonce'> {
  readonly secret: SigningSecret;
  readonly body: Buffer;
  /** Unix seconds; defaults to now. */
  readonly timestamp?: number;
  /** Defaults to 16 random bytes in base64url. */
  readonly nonce?: string;
}

/** The four cc-* headers of one HTTP request. */
export function signHttpRequest(input: SignHttpInput): SigningHeaders {
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = input.nonce ?? randomBytes(nonceBytes).toString('base64url');
  const canonical = httpCanonicalString({ ...input, timestamp, nonce }, input.body);
  return {
    'cc-key-id': input.keyId,
    'cc-timestamp': String(timestamp),
    'cc-nonce': nonce,
    'cc-signature': signatureFor(Buffer.from(canonical, 'utf8'), input.secret),
  };
}
