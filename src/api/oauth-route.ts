import type { FastifyInstance } from 'fastify';
import { nonceLedger } from '../admission/nonces.js';
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import { jwtBearerAssertionType, type OAuthError, verifyClientAssertion } from './client-assertion.js';
import { type ApiScope, apiScopes, type GetKey, isApiScope } from './principal.js';

// POST /oauth/token: RFC 6749 §4.4 client credentials, the client authenticated by an RFC 7523
// JWT assertion. Errors are RFC 6749 §5.2 JSON ({ error, error_description }), as OAuth clients expect.

export interface OAuthRouteDeps {
  readonly db: Database;
  readonly getKey: GetKey;
  readonly tokens: AccessTokenIssuer;
  readonly issuer: string;
  readonly now: () => Date;
  readonly windowMs: number;
}

export function registerOAuthRoute(app: FastifyInstance, deps: OAuthRouteDeps): void {
  app.post('/oauth/token', async (request, reply) => {
    const fail = (error: OAuthError) => {
      reply
        .code(error.error === 'invalid_client' ? 401 : 400)
        .header('cache-control', 'no-store')
        .header('content-type', 'application/json');
      if (error.error === 'invalid_client') reply.header('www-authenticate', 'Bearer');
      return { error: error.error, error_description: error.description };
    };
    if (!/^application\/x-www-form-urlencoded(;|$)/i.test(request.headers['content-type'] ?? '')) {
      return fail({
        error: 'invalid_request',
        description: 'send the form as application/x-www-form-urlencoded',
      });
    }
    const form = new URLSearchParams(Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '');
    const single = (name: string) =>
      form.getAll(name).length > 1 ? undefined : (form.get(name) ?? undefined);
    if (single('grant_type') !== 'client_credentials') {
      return fail({ error: 'unsupported_grant_type', description: 'grant_type must be client_credentials' });
    }
    const assertion = single('client_assertion');
    if (single('client_assertion_type') !== jwtBearerAssertionType || assertion === undefined) {
      return fail({
        error: 'invalid_client',
        description: `authenticate with client_assertion_type=${jwtBearerAssertionType} and a client_assertion JWT signed with your key (docs/protocol.md)`,
      });
    }
    const scopes = requestedScopes(single('scope'));
    if (scopes === undefined) {
      return fail({ error: 'invalid_scope', description: `scope must list some of: ${apiScopes.join(' ')}` });
    }
    const now = deps.now();
    const verified = await verifyClientAssertion(assertion, {
      getKey: deps.getKey,
      audience: deps.issuer,
      now,
      windowMs: deps.windowMs,
    });
    if ('error' in verified) return fail(verified);
    const clientId = single('client_id');
    if (clientId !== undefined && clientId !== verified.client.keyId) {
      return fail({ error: 'invalid_client', description: "client_id differs from the assertion's iss" });
    }
    const use = {
      keyId: verified.client.keyId,
      nonce: `jti:${verified.jti}`,
      messageId: 'oauth-token',
      expiresAt: verified.expiresAt,
    };
    // The jti is spent and the issue audited together: no token without its audit row.
    const taken = await deps.db.transaction(async (tx) => {
      const held = await nonceLedger.record(tx, [use], now);
      if (held.size === 0) {
        await recordAudit(tx, [
          {
            at: now,
            source: 'api',
            tenantId: verified.client.tenantId,
            keyId: verified.client.keyId,
            outcome: 'token.issued',
            detail: `scope ${scopes.join(' ')}, ${deps.tokens.ttlSeconds} s`,
          },
        ]);
      }
      return held;
    });
    if (taken.size > 0)
      return fail({
        error: 'invalid_client',
        description: 'this client assertion (its jti) was already used',
      });
    const token = await deps.tokens.issue(verified.client, scopes, now);
    reply.header('cache-control', 'no-store');
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: deps.tokens.ttlSeconds,
      scope: scopes.join(' '),
    };
  });
}

/** Every scope when none is asked for; undefined when one asked for does not exist. */
function requestedScopes(scope: string | undefined): ApiScope[] | undefined {
  if (scope === undefined) return [...apiScopes];
  const names = scope.split(' ').filter((name) => name !== '');
  if (names.length === 0 || !names.every(isApiScope)) return undefined;
  return [...new Set(names)] as ApiScope[];
}
