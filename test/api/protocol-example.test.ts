import { createHash, createHmac, createPrivateKey, createPublicKey, sign as edSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyClientAssertion } from '../../src/api/client-assertion.js';
import type { SigningKey } from '../../src/keys/signing-key.js';
import { decodeSigningSecret, httpCanonicalString, signHttpRequest } from '../../src/signing/index.js';
import { example } from '../signing/worked-example.js';

// docs/protocol.md section 9: every value recomputed here with node:crypto by hand, compared with
// the document, and with what the code under test (signing, assertion checks) makes of it.

const protocol = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const section9 = protocol.slice(protocol.indexOf('## 9. Signed HTTP requests'));
const edPrivate = createPrivateKey({
  key: Buffer.from(example.ed25519PrivateKeyText.slice('cked_'.length), 'base64url'),
  format: 'der',
  type: 'pkcs8',
});

const canonical = [
  'clearcut-http-v1',
  example.keyId,
  String(example.timestamp),
  example.nonce,
  'POST',
  '/v1/jobs',
  example.messageId,
  example.contentType,
  createHash('sha256').update(example.body).digest('hex'),
].join('\n');
const v1 = `v1=${createHmac('sha256', example.hmacSecretBytes).update(canonical).digest('hex')}`;
const v2 = `v2=${edSign(null, Buffer.from(canonical), edPrivate).toString('base64url')}`;

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = {
  iss: example.keyId,
  sub: example.keyId,
  aud: 'clearcut',
  iat: 1767225600,
  exp: 1767225660,
  jti: 'Hk3vQ9sLx2Wm7Rt5Yp1Zc8',
};
const hsInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
const hsAssertion = `${hsInput}.${createHmac('sha256', example.hmacSecretBytes).update(hsInput).digest('base64url')}`;
const edInput = `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64(claims)}`;
const edAssertion = `${edInput}.${edSign(null, Buffer.from(edInput), edPrivate).toString('base64url')}`;

describe('docs/protocol.md section 9, recomputed', () => {
  it('shows the HTTP canonical string and both signatures, which signHttpRequest reproduces', () => {
    expect(section9).toContain(`\`\`\`\n${canonical}\n\`\`\``);
    expect(section9).toContain(`cc-signature: ${v1}\``);
    expect(section9).toContain(`cc-signature: ${v2}\``);
    const input = {
      keyId: example.keyId,
      timestamp: example.timestamp,
      nonce: example.nonce,
      method: 'POST',
      target: '/v1/jobs',
      idempotencyKey: example.messageId,
      contentType: example.contentType,
      body: Buffer.from(example.body),
    };
    expect(httpCanonicalString(input, input.body)).toBe(canonical);
    expect(
      signHttpRequest({ ...input, secret: decodeSigningSecret(example.hmacSecretText) })['cc-signature'],
    ).toBe(v1);
    expect(
      signHttpRequest({ ...input, secret: decodeSigningSecret(example.ed25519PrivateKeyText) })[
        'cc-signature'
      ],
    ).toBe(v2);
  });

  it('shows both client assertions, which the token endpoint accepts at their iat', async () => {
    expect(section9).toContain(`\`client_secret_jwt\`: \`${hsAssertion}\``);
    expect(section9).toContain(`\`private_key_jwt\`: \`${edAssertion}\``);
    const base = {
      keyId: example.keyId,
      tenantId: 'acme',
      purpose: 'signing' as const,
      environment: 'test' as const,
      createdAt: new Date(0),
      expiresAt: null,
      revokedAt: null,
    };
    const keys: SigningKey[] = [
      { ...base, algorithm: 'hmac-sha256', secret: example.hmacSecretBytes },
      { ...base, algorithm: 'ed25519', publicKey: createPublicKey(edPrivate) },
    ];
    for (const [key, assertion] of [
      [keys[0]!, hsAssertion],
      [keys[1]!, edAssertion],
    ] as const) {
      const verified = await verifyClientAssertion(assertion, {
        getKey: async () => key,
        audience: 'clearcut',
        now: new Date(claims.iat * 1000),
        windowMs: 300_000,
      });
      expect(verified).toEqual({
        client: { tenantId: 'acme', keyId: example.keyId },
        jti: claims.jti,
        expiresAt: new Date(claims.exp * 1000),
      });
    }
  });
});
