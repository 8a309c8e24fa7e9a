import { optionalVariable, section } from './define.js';
import { text } from './parsers.js';

export const producerSection = section(
  {
    CLEARCUT_KEY_ID: optionalVariable({
      doc: 'Key id `clearcut submit` signs with (ck_live_... or ck_test_...), unless --key-id is given.',
      expected: 'a key id such as ck_live_...',
      schema: text(200),
    }),
    CLEARCUT_KEY_SECRET: optionalVariable({
      doc: 'HMAC secret or Ed25519 private key `clearcut submit` signs with, unless --key-secret is given.',
      expected: 'the secret printed by `clearcut keys create`',
      secret: true,
      schema: text(1000),
    }),
  },
  (v) => ({ keyId: v.CLEARCUT_KEY_ID, keySecret: v.CLEARCUT_KEY_SECRET }),
);
