import { decodeJwt, errors, jwtVerify } from 'jose';
import { signingKeyRefusal } from '../admission/key-refusal.js';
import { isKeyId } from '../signing/keys.js';
import type { GetKey, Principal } from './principal.js';

// RFC 7523 client authentication at POST /oauth/token: the client proves it holds its key by a JWT
// it signs itself (`client_secret_jwt` with an HMAC key's secret, HS256; `private_key_jwt` with an
// Ed25519 private key, EdDSA), never sending the secret. iss = sub = the key id, aud = this API's
// issuer name, exp at most the timestamp window ahead, and a jti used once (the nonce ledger).

export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** RFC 6749 §5.2 error codes this endpoint answers. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

export interface OAuthError {
  readonly error: OAuthErrorCode;
  readonly description: string;
}

export interface AssertionContext {
  readonly getKey: GetKey;
  readonly audience: string;
  readonly now: Date;
  /** Longest an assertion may live (exp − now): the signed-request timestamp window. */
  readonly windowMs: number;
}

export interface VerifiedAssertion {
  readonly client: Pick<Principal, 'tenantId' | 'keyId'>;
  /** Recorded in the nonce ledger (as `jti:<jti>`) until the assertion expires. */
  readonly jti: string;
  readonly expiresAt: Date;
}

const jtiPattern = /^[A-Za-z0-9_-]{16,128}$/;

export async function verifyClientAssertion(
  assertion: string,
  context: AssertionContext,
): Promise<VerifiedAssertion | OAuthError> {
  const invalidClient = (description: string): OAuthError => ({ error: 'invalid_client', description });
  let keyId: unknown;
  try {
    keyId = decodeJwt(assertion).iss;
  } catch {
    return invalidClient('client_assertion is not a JWT');
  }
  if (!isKeyId(keyId))
    return invalidClient("the assertion's iss must be your key id (ck_live_… or ck_test_…)");
  // Until the signature verifies the caller is not yet anyone: an unknown key and a wrong signature
  // get the same answer, and a key's state (revoked, expired, event-source) is told only to its holder.
  const unverified = invalidClient(
    "the client assertion does not verify: its iss must be an active key id and it must be signed with that key's secret (HS256) or private key (EdDSA)",
  );
  const key = await context.getKey(keyId);
  if (key === undefined) return unverified;
  const algorithm = key.algorithm === 'hmac-sha256' ? 'HS256' : 'EdDSA';
  let claims: Record<string, unknown>;
  try {
    // jose checks the signature before the claims: a claim error means the holder signed it.
    ({ payload: claims } = await jwtVerify(
      assertion,
      key.algorithm === 'hmac-sha256' ? new Uint8Array(key.secret) : key.publicKey,
      {
        issuer: keyId,
        subject: keyId,
        audience: context.audience,
        algorithms: [algorithm],
        requiredClaims: ['exp', 'jti'],
        currentDate: context.now,
      },
    ));
  } catch (error) {
    if (error instanceof errors.JWTExpired) return invalidClient('the client assertion has expired');
    if (error instanceof errors.JWTClaimValidationFailed) {
      return invalidClient(`the client assertion's ${error.claim} claim is wrong: ${error.reason}`);
    }
    return unverified;
  }
  // An event-source key's secret is sent in plain, so it must not sign assertions either.
  const refusal = signingKeyRefusal(key, context.now);
  if (refusal) return invalidClient(refusal.rejection.message);
  const exp = Number(claims.exp) * 1000;
  if (exp - context.now.getTime() > context.windowMs) {
    return invalidClient(
      `the client assertion lives too long: exp must be at most ${context.windowMs / 1000} s from now`,
    );
  }
  const { jti } = claims;
  if (typeof jti !== 'string' || !jtiPattern.test(jti)) {
    return invalidClient('jti must be 16–128 base64url characters, random, used once');
  }
  return { client: { tenantId: key.tenantId, keyId }, jti, expiresAt: new Date(exp) };
}
