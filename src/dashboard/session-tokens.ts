import { jwtVerify, SignJWT } from 'jose';
import { deriveSecret } from '../keys/derived-secret.js';
import type { SessionScope } from './link-store.js';

// The dashboard session cookie holds a short-lived JWT (HS256, key derived from the master key
// for this purpose only). Its jti names the sign-in link row, so signing out ends it everywhere.

const tokenType = 'dashboard+jwt';
const purpose = 'clearcut dashboard sessions v1';

export interface Session extends SessionScope {
  readonly sessionId: string;
  readonly expiresAt: Date;
}

export interface SessionTokens {
  issue(sessionId: string, scope: SessionScope, now: Date): Promise<{ token: string; expiresAt: Date }>;
  /** The session a token stands for, or undefined when it is altered, foreign or expired. */
  verify(token: string, now: Date): Promise<Session | undefined>;
}

export function createSessionTokens(options: {
  readonly masterKey: Buffer;
  readonly issuer: string;
  readonly ttlMs: number;
}): SessionTokens {
  const secret = deriveSecret(options.masterKey, purpose);
  const ttlSeconds = Math.floor(options.ttlMs / 1000);
  return {
    async issue(sessionId, scope, now) {
      const iat = Math.floor(now.getTime() / 1000);
      const token = await new SignJWT({ tenant: scope.tenantId, admin: scope.admin })
        .setProtectedHeader({ alg: 'HS256', typ: tokenType })
        .setIssuer(options.issuer)
        .setAudience(`${options.issuer} dashboard`)
        .setJti(sessionId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .sign(secret);
      return { token, expiresAt: new Date((iat + ttlSeconds) * 1000) };
    },
    async verify(token, now) {
      try {
        const { payload } = await jwtVerify(token, secret, {
          issuer: options.issuer,
          audience: `${options.issuer} dashboard`,
          algorithms: ['HS256'],
          typ: tokenType,
          requiredClaims: ['jti', 'exp'],
          currentDate: now,
        });
        const { jti, tenant, admin, exp } = payload;
        if (typeof jti !== 'string' || typeof admin !== 'boolean') return undefined;
        if (tenant !== null && typeof tenant !== 'string') return undefined;
        return { sessionId: jti, tenantId: tenant, admin, expiresAt: new Date((exp ?? 0) * 1000) };
      } catch {
        return undefined;
      }
    },
  };
}
