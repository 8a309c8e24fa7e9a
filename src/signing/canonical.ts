import { createHash } from 'node:crypto';

/** First line of every canonical string; a new layout would get a new tag, never a changed meaning. */
export const canonicalTag = 'clearcut-v1';

/** The signed fields other than the body, already validated (see headers.ts). */
export interface CanonicalFields {
  readonly keyId: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly nonce: string;
  readonly messageId: string;
  readonly contentType: string;
}

/** Lowercase hex SHA-256 of the exact body bytes. */
export function bodyDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The string both sides sign: DESIGN §3.1, `\n`-joined, no trailing newline, UTF-8 when turned into bytes. */
export function canonicalString(fields: CanonicalFields, body: Buffer): string {
  return [
    canonicalTag,
    fields.keyId,
    String(fields.timestamp),
    fields.nonce,
    fields.messageId,
    fields.contentType,
    bodyDigest(body),
  ].join('\n');
}
