// Signing shared by producers (src/client) and the gateway. docs/protocol.md is the specification.
export { bodyDigest, type CanonicalFields, canonicalString, canonicalTag } from './canonical.js';
export { KeyFormatError, SignatureError, type SignatureFailure } from './errors.js';
export {
  type ParsedSignature,
  parseSignedHeaders,
  parseSigningHeaders,
  type SignedHeaders,
  type SigningHeaderName,
  type SigningHeaders,
  signingHeaderNames,
} from './headers.js';
export {
  type HttpCanonicalFields,
  httpCanonicalString,
  httpCanonicalTag,
  type SignHttpInput,
  signHttpRequest,
} from './http-canonical.js';
export * from './keys.js';
export { type SignJobInput, signatureFor, signJob } from './sign.js';
export { assertFreshTimestamp, verifyCanonical, verifySignature } from './verify.js';
