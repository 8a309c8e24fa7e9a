import { describe, expect, it } from 'vitest';
import { parseSignedHeaders, SignatureError } from '../../src/signing/index.js';
import { example } from './worked-example.js';

const valid = {
  'cc-key-id': example.keyId,
  'cc-timestamp': String(example.timestamp),
  'cc-nonce': example.nonce,
  'cc-signature': example.v1,
};

function failure(headers: unknown, ...properties: [messageId?: unknown, contentType?: unknown]) {
  // An explicit undefined stays undefined: only absent arguments take the valid defaults.
  const messageId = properties.length > 0 ? properties[0] : example.messageId;
  const contentType = properties.length > 1 ? properties[1] : example.contentType;
  try {
    parseSignedHeaders(headers, messageId, contentType);
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    return { reason: (error as SignatureError).reason, message: (error as SignatureError).message };
  }
  throw new Error('expected a SignatureError');
}

describe('parseSignedHeaders', () => {
  it('reads valid headers and properties, also as Buffers (how some AMQP clients send strings)', () => {
    const parsed = parseSignedHeaders(valid, example.messageId, example.contentType);
    expect(parsed).toMatchObject({
      keyId: example.keyId,
      timestamp: example.timestamp,
      nonce: example.nonce,
    });
    expect(parsed.signature.version).toBe(1);
    expect(parsed.signature.bytes.toString('hex')).toBe(example.v1.slice(3));
    const asBuffers = Object.fromEntries(
      Object.entries(valid).map(([name, value]) => [name, Buffer.from(value)]),
    );
    expect(parseSignedHeaders(asBuffers, example.messageId, example.contentType)).toEqual(parsed);
    const v2 = parseSignedHeaders(
      { ...valid, 'cc-signature': example.v2 },
      example.messageId,
      example.contentType,
    );
    expect(v2.signature).toMatchObject({ version: 2 });
    expect(v2.signature.bytes).toHaveLength(64);
  });

  it('names each missing header or property as missing_header', () => {
    for (const name of Object.keys(valid)) {
      const { [name as keyof typeof valid]: _, ...rest } = valid;
      expect(failure(rest)).toEqual({
        reason: 'missing_header',
        message: expect.stringContaining(`${name} is missing`),
      });
      expect(failure({ ...valid, [name]: '' }).reason).toBe('missing_header');
    }
    expect(failure(undefined).reason).toBe('missing_header');
    expect(failure(valid, undefined).message).toMatch(/^message_id property is missing/);
    expect(failure(valid, example.messageId, undefined).message).toMatch(/^content_type property is missing/);
  });

  const invalid: [string, Record<string, unknown>, unknown?, unknown?][] = [
    ['key id without environment', { 'cc-key-id': 'ck_5rXqJ2mP8vN4kL7wZ9tB3cYd' }],
    ['key id of another environment', { 'cc-key-id': 'ck_prod_5rXqJ2mP8vN4kL7wZ9tB3cYd' }],
    ['key id too long', { 'cc-key-id': `${example.keyId}x` }],
    ['key id with a newline', { 'cc-key-id': `${example.keyId}\nx` }],
    ['timestamp in milliseconds', { 'cc-timestamp': '1767225600000' }],
    ['timestamp with a leading zero', { 'cc-timestamp': '01767225600' }],
    ['negative timestamp', { 'cc-timestamp': '-1' }],
    ['timestamp as a number', { 'cc-timestamp': example.timestamp }],
    ['ISO timestamp', { 'cc-timestamp': '2026-01-01T00:00:00Z' }],
    ['short nonce (< 128 bits)', { 'cc-nonce': 'q1Wv8Yt3Zs6Xp0Rn4Jm2L' }],
    ['nonce with padding', { 'cc-nonce': `${example.nonce}==` }],
    ['nonce in standard base64', { 'cc-nonce': 'q1Wv8Yt3Zs6Xp0Rn4Jm2L+' }],
    ['huge nonce', { 'cc-nonce': 'a'.repeat(129) }],
    ['nonce with a control character', { 'cc-nonce': `${example.nonce}\u0000` }],
    ['signature without version', { 'cc-signature': example.v1.slice(3) }],
    ['unknown signature version', { 'cc-signature': `v3=${example.v1.slice(3)}` }],
    ['uppercase hex', { 'cc-signature': example.v1.toUpperCase().replace('V1', 'v1') }],
    ['short HMAC', { 'cc-signature': example.v1.slice(0, -2) }],
    ['Ed25519 with padding', { 'cc-signature': `${example.v2}==` }],
    ['Ed25519 in standard base64', { 'cc-signature': example.v2.replace(/-/g, '+') }],
    ['header as an object', { 'cc-key-id': { value: example.keyId } }],
    ['message id with a dot', {}, 'job.1'],
    ['message id with a newline', {}, 'job\n1'],
    ['message id too long', {}, 'j'.repeat(129)],
    ['message id as a number', {}, 42],
    ['content type not JSON', {}, example.messageId, 'text/plain'],
    ['content type with a newline', {}, example.messageId, 'application/json\n'],
  ];
  for (const [label, change, messageId, contentType] of invalid) {
    it(`refuses ${label} as invalid_header`, () => {
      const { reason, message } = failure(
        { ...valid, ...change },
        messageId ?? example.messageId,
        contentType ?? example.contentType,
      );
      expect(reason).toBe('invalid_header');
      expect(message).toMatch(/expected|unsupported|must be followed/);
    });
  }

  it('never echoes a header value (it may be huge or hostile)', () => {
    const hostile = `${'x'.repeat(5000)}\u001b[31m`;
    const { message } = failure({ ...valid, 'cc-nonce': hostile });
    expect(message).not.toContain('xxxx');
    expect(message).toContain('control characters');
  });

  it('accepts the tolerated content type forms, case-insensitively', () => {
    for (const contentType of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;charset=UTF-8',
    ]) {
      expect(parseSignedHeaders(valid, example.messageId, contentType).contentType).toBe(contentType);
    }
  });
});
