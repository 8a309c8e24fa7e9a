import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { keyRefusal } from '../admission/key-refusal.js';
import { deriveSecret } from '../keys/derived-secret.js';
import { type ApiScope, type GetKey, isApiScope, type Principal } from './principal.js';
import { type Problem, problem } from './problems.js';

// Access tokens of POST /oauth/token: JWTs (HS256) signed with a key derived from the master key
// by HKDF, so no second secret must be provisioned and every API process derives the same one.
// A token names its key (`sub`), and the key's state is checked on each use: revoking the key stops
// its tokens as soon as the key store hears of it (NOTIFY; CLEARCUT_KEY_CACHE_TTL at the latest).

const tokenType = 'at+jwt';
const hkdfInfo = 'clearcut api access tokens v1';

export interface AccessTokenIssuer {
  issue(
    principal: Pick<Principal, 'tenantId' | 'keyId'>,
    scopes: readonly ApiScope[],
    now: Date,
  ): Promise<string>;
  /** The principal of a valid token for a key still active; a problem otherwise. */
  verify(token: string, now: Date): Promise<{ principal: Principal } | { problem: Problem }>;
  readonly ttlSeconds: number;
}

export function createAccessTokens(options: {
  readonly masterKey: Buffer;
  readonly issuer: string;
  readonly ttlMs: number;
  readonly getKey: GetKey;
}): AccessTokenIssuer {
  const secret = deriveSecret(options.masterKey, hkdfInfo);
  const ttlSeconds = Math.floor(options.ttlMs / 1000);
  const invalid = (detail: string) => ({ problem: problem('invalid_token', detail) });
  return {
    ttlSeconds,
    async issue(principal, scopes, now) {
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({ tenant: principal.tenantId, scope: scopes.join(' ') })
        .setProtectedHeader({ alg: 'HS256', typ: tokenType })
        .setIssuer(options.issuer)
        .setAudience(options.issuer)
        .setSubject(principal.keyId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .setJti(randomBytes(16).toString('base64url'))
        .sign(secret);
    },
    async verify(token, now) {
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, secret, {
          issuer: options.issuer,
          audience: options.issuer,
          algorithms: ['HS256'],
          typ: tokenType,
          requiredClaims: ['sub', 'exp', 'tenant', 'scope'],
          currentDate: now,
        }));
      } catch (error) {
        if (error instanceof errors.JWTExpired) {
          return invalid('the access token has expired: get a new one from POST /oauth/token');
        }
        return invalid('the access token is not one this API issued, or it was altered');
      }
      const { sub, tenant, scope } = claims;
      if (typeof sub !== 'string' || typeof tenant !== 'string' || typeof scope !== 'string') {
        return invalid('the access token lacks its subject, tenant or scope');
      }
      const key = await options.getKey(sub);
      if (key === undefined || key.tenantId !== tenant)
        return invalid(`the token's key ${sub} no longer exists`);
      const refusal = keyRefusal(key, now);
      if (refusal) return invalid(`the token's ${refusal.rejection.message}`);
      const scopes = new Set(scope.split(' ').filter(isApiScope));
      return { principal: { tenantId: tenant, keyId: sub, scopes, nonce: null } };
    },
  };
}
