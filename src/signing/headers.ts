import { keyIdPattern, messageIdPattern } from '../contracts/identifiers.js';
import { SignatureError } from './errors.js';

// Validation of everything that enters the canonical string, before any of it is used. Each
// pattern excludes newlines and control characters by construction and bounds the length.

export const signingHeaderNames = ['cc-key-id', 'cc-timestamp', 'cc-nonce', 'cc-signature'] as const;
export type SigningHeaderName = (typeof signingHeaderNames)[number];
export type SigningHeaders = Record<SigningHeaderName, string>;

export const nonceBytes = 16;
/** base64url of at least 128 random bits (22 characters), at most 128 characters. */
export const noncePattern = /^[A-Za-z0-9_-]{22,128}$/;
/** Unix seconds, decimal, no sign, no leading zero, at most 12 digits. */
export const timestampPattern = /^(0|[1-9][0-9]{0,11})$/;
/** The body is JSON; a UTF-8 charset parameter is tolerated. The exact text is what gets signed. */
export const contentTypePattern = /^application\/json(; ?charset=utf-8)?$/i;
const hmacSignaturePattern = /^v1=([0-9a-f]{64})$/;
const ed25519SignaturePattern = /^v2=([A-Za-z0-9_-]{86})$/;

export interface ParsedSignature {
  /** 1 = HMAC-SHA256, 2 = Ed25519. */
  readonly version: 1 | 2;
  readonly bytes: Buffer;
}

export interface SignedHeaders {
  readonly keyId: string;
  /** Unix seconds. */
  readonly timestamp: number;
  readonly nonce: string;
  readonly messageId: string;
  readonly contentType: string;
  readonly signature: ParsedSignature;
}

/**
 * Validates the signing headers and the two AMQP properties that are signed (message_id and
 * content_type). Throws SignatureError with reason missing_header or invalid_header.
 */
export function parseSignedHeaders(
  headers: unknown,
  messageId: unknown,
  contentType: unknown,
): SignedHeaders {
  return {
    ...parseSigningHeaders(headers),
    messageId: field(
      'message_id property',
      messageId,
      messageIdPattern,
      '1–128 characters from A-Z a-z 0-9 _ - (the job id)',
    ),
    contentType: field('content_type property', contentType, contentTypePattern, 'application/json'),
  };
}

/** The four cc-* headers alone, as every transport carries them (AMQP headers, HTTP headers). */
export function parseSigningHeaders(headers: unknown): Omit<SignedHeaders, 'messageId' | 'contentType'> {
  const table = isRecord(headers) ? headers : {};
  return {
    keyId: field('cc-key-id', table['cc-key-id'], keyIdPattern, 'ck_live_ or ck_test_ and 24 letters/digits'),
    timestamp: Number(
      field('cc-timestamp', table['cc-timestamp'], timestampPattern, 'unix seconds as a decimal string'),
    ),
    nonce: field(
      'cc-nonce',
      table['cc-nonce'],
      noncePattern,
      '22–128 base64url characters (≥128 random bits)',
    ),
    signature: parseSignature(table['cc-signature']),
  };
}

function parseSignature(value: unknown): ParsedSignature {
  const text = field(
    'cc-signature',
    value,
    /^v[0-9]+=.{1,200}$/,
    'v1=<hex HMAC-SHA256> or v2=<base64url Ed25519>',
  );
  const hmac = hmacSignaturePattern.exec(text);
  if (hmac) return { version: 1, bytes: Buffer.from(hmac[1]!, 'hex') };
  const ed25519 = ed25519SignaturePattern.exec(text);
  if (ed25519) return { version: 2, bytes: Buffer.from(ed25519[1]!, 'base64url') };
  const version = text.slice(0, text.indexOf('='));
  if (version !== 'v1' && version !== 'v2') {
    throw new SignatureError(
      'invalid_header',
      `cc-signature: unsupported signature version ${version} (use v1 or v2)`,
    );
  }
  throw new SignatureError(
    'invalid_header',
    version === 'v1'
      ? 'cc-signature: v1= must be followed by 64 lowercase hex characters (HMAC-SHA256)'
      : 'cc-signature: v2= must be followed by 86 base64url characters without padding (Ed25519)',
  );
}

/** One header or property as text, checked against its pattern. Values are not echoed: they may be huge or hostile. */
function field(name: string, value: unknown, pattern: RegExp, expected: string): string {
  if (value === undefined || value === null || value === '') {
    throw new SignatureError('missing_header', `${name} is missing: expected ${expected}`);
  }
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  if (typeof text !== 'string') {
    throw new SignatureError(
      'invalid_header',
      `${name} must be a string (got ${typeof text}): expected ${expected}`,
    );
  }
  if (!pattern.test(text)) {
    throw new SignatureError(
      'invalid_header',
      `${name} is malformed (${describe(text)}): expected ${expected}`,
    );
  }
  return text;
}

function describe(text: string): string {
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'contains control characters';
  return `${text.length} characters`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
