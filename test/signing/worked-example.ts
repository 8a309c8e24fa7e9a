// The worked example of docs/protocol.md. Every value here was computed with node:crypto directly
// (see the tests), not with the code under test; the tests also check the doc shows these values.

export const example = {
  keyId: 'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd',
  /** 32 bytes 0x00..0x1f. */
  hmacSecretBytes: Buffer.from(Array.from({ length: 32 }, (_, index) => index)),
  hmacSecretText: 'cks_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  /** PKCS#8 DER of the Ed25519 private key whose 32-byte seed is 0x20..0x3f. */
  ed25519PrivateKeyText: 'cked_MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4_',
  ed25519PublicKeyText: 'MCowBQYDK2VwAyEAKay64UG8yvCyLhqU000LxzYeUm0L_hLIl5S8kyKWbdc',
  timestamp: 1767225600,
  nonce: 'q1Wv8Yt3Zs6Xp0Rn4Jm2Lk',
  messageId: '9b2f6c1e-4d3a-4f8b-9c7e-2a1b3c4d5e6f',
  contentType: 'application/json',
  body: '{"version":1,"input":{"bucket":"catalog","key":"shoes/red.jpg"},"output":{"bucket":"cutouts","prefix":"shoes/"},"renditions":[{"kind":"cutout","format":"png"}]}',
  bodySha256: 'aa8947324c2266ba6cb1b10ce60ca0b183ab8ee6bf630bae16b3664cc061eb99',
  v1: 'v1=49fa4d9fc64fc8c9d420f45653f7863308b96584d0714626e22dcf2e186455b4',
  v2: 'v2=gjTBNCF6qhZchWbIQF766JVjYt39Ee6K6k--3HHxDyHjC_CXrGMuhPghF8Q1ASbsHHKVj8CvoIualwdMR8d-Bw',
} as const;

/** Typed out by hand, field by field: the canonical string of the example. */
export const exampleCanonical =
  'clearcut-v1\n' +
  'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd\n' +
  '1767225600\n' +
  'q1Wv8Yt3Zs6Xp0Rn4Jm2Lk\n' +
  '9b2f6c1e-4d3a-4f8b-9c7e-2a1b3c4d5e6f\n' +
  'application/json\n' +
  'aa8947324c2266ba6cb1b10ce60ca0b183ab8ee6bf630bae16b3664cc061eb99';
