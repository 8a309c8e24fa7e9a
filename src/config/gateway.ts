import { optionalVariable, section, variable } from './define.js';
import { byteSize, duration, text, wholeNumber } from './parsers.js';

export const gatewaySection = section(
  {
    CLEARCUT_MASTER_KEY: optionalVariable({
      doc: 'Base64 of 32 random bytes; encrypts HMAC key secrets at rest (AES-256-GCM). Required by the gateway and `clearcut keys`. Make one with `openssl rand -base64 32`.',
      expected: 'base64 of exactly 32 bytes (openssl rand -base64 32)',
      secret: true,
      schema: text(100),
    }),
    CLEARCUT_TIMESTAMP_WINDOW: variable({
      doc: 'How far a signed message timestamp may be from the gateway clock, either way.',
      expected: 'a duration such as 300s or 5m',
      default: '300s',
      schema: duration(1000),
    }),
    CLEARCUT_MAX_BODY_BYTES: variable({
      doc: 'Largest job message body the gateway reads; larger messages are rejected unread.',
      expected: 'a byte size such as 262144 or 256KiB',
      default: '256KiB',
      schema: byteSize(1024),
    }),
    CLEARCUT_GATEWAY_PREFETCH: variable({
      doc: 'Unacknowledged job messages a gateway holds at once.',
      expected: 'a whole number from 1 to 10000',
      default: '200',
      schema: wholeNumber(1, 10_000),
    }),
  },
  (v) => ({
    masterKey: v.CLEARCUT_MASTER_KEY,
    timestampWindowMs: v.CLEARCUT_TIMESTAMP_WINDOW,
    maxBodyBytes: v.CLEARCUT_MAX_BODY_BYTES,
    prefetch: v.CLEARCUT_GATEWAY_PREFETCH,
  }),
);
