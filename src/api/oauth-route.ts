import type { FastifyInstance, FastifyRequest } from 'fastify';
import { nonceLedger } from '../admission/nonces.js';
import { recordAudit } from '../audit/audit.js';
import type { Database } from '../db/database.js';
import type { KeyPurpose } from '../keys/signing-key.js';
import type { Logger } from '../log.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import {
  jwtBearerAssertionType,
  type OAuthError,
  type VerifiedAssertion,
  verifyClientAssertion,
} from './client-assertion.js';
import { basicCredentials, type SecretCredentials, verifyClientSecret } from './client-secret.js';
import { type ApiScope, type GetKey, isApiScope, type Principal, scopesByPurpose } from './principal.js';

// POST /oauth/token: RFC 6749 §4.4 client credentials. A signing key's client authenticates by an
// RFC 7523 JWT assertion; an event-source key's (an EventBridge connection) by its secret, Basic
// or in the body. Errors are RFC 6749 §5.2 JSON ({ error, error_description }), as OAuth clients expect.

export interface OAuthRouteDeps {
  readonly db: Database;
  readonly getKey: GetKey;
  readonly tokens: AccessTokenIssuer;
  readonly issuer: string;
  readonly now: () => Date;
  readonly windowMs: number;
  readonly log: Logger;
}

type Client = Pick<Principal, 'tenantId' | 'keyId'> & {
  readonly purpose: KeyPurpose;
  readonly assertion?: VerifiedAssertion;
};

export function registerOAuthRoute(app: FastifyInstance, deps: OAuthRouteDeps): void {
  app.post('/oauth/token', async (request, reply) => {
    const basic = basicCredentials(request.headers.authorization);
    const fail = (error: OAuthError) => {
      reply
        .code(error.error === 'invalid_client' ? 401 : 400)
        .header('cache-control', 'no-store')
        .header('content-type', 'application/json');
      if (error.error === 'invalid_client') {
        reply.header('www-authenticate', basic === undefined ? 'Bearer' : 'Basic realm="clearcut"');
      }
      return { error: error.error, error_description: error.description };
    };
    const form = readForm(request);
    if ('error' in form) return fail(form);
    const single = (name: string) =>
      form.getAll(name).length > 1 ? undefined : (form.get(name) ?? undefined);
    if (single('grant_type') !== 'client_credentials') {
      return fail({ error: 'unsupported_grant_type', description: 'grant_type must be client_credentials' });
    }
    const now = deps.now();
    const client = await authenticateClient(basic, single, deps, now);
    if ('error' in client) return fail(client);
    const allowed = scopesByPurpose[client.purpose];
    const scopes = requestedScopes(single('scope'), allowed);
    if (scopes === undefined) {
      return fail({
        error: 'invalid_scope',
        description: `scope must list some of: ${allowed.join(' ')} (the scopes of key ${client.keyId})`,
      });
    }
    // A spent jti (assertions only) and the audit row go together: no token without its audit row.
    const replayed = await deps.db.transaction(async (tx) => {
      const { assertion } = client;
      if (assertion !== undefined) {
        const use = {
          keyId: client.keyId,
          nonce: `jti:${assertion.jti}`,
          messageId: 'oauth-token',
          expiresAt: assertion.expiresAt,
        };
        if ((await nonceLedger.record(tx, [use], now)).size > 0) return true;
      }
      await recordAudit(tx, [
        {
          at: now,
          source: 'api',
          tenantId: client.tenantId,
          keyId: client.keyId,
          outcome: 'token.issued',
          detail: `scope ${scopes.join(' ')}, ${deps.tokens.ttlSeconds} s`,
        },
      ]);
      return false;
    });
    if (replayed) {
      return fail({
        error: 'invalid_client',
        description: 'this client assertion (its jti) was already used',
      });
    }
    const token = await deps.tokens.issue(client, scopes, now);
    reply.header('cache-control', 'no-store');
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: deps.tokens.ttlSeconds,
      scope: scopes.join(' '),
    };
  });
}

/**
 * The form as RFC 6749 sends it (application/x-www-form-urlencoded), or a flat JSON object of
 * strings: the AWS documentation does not say how an EventBridge connection encodes the body
 * parameters it is given, so both are read.
 */
function readForm(request: FastifyRequest): URLSearchParams | OAuthError {
  const type = request.headers['content-type'] ?? '';
  const text = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
  if (/^application\/x-www-form-urlencoded(;|$)/i.test(type)) return new URLSearchParams(text);
  const invalid = (description: string): OAuthError => ({ error: 'invalid_request', description });
  if (!/^application\/json(;|$)/i.test(type)) {
    return invalid('send the form as application/x-www-form-urlencoded (or a JSON object of strings)');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('the JSON body must be an object of parameter names and string values');
  }
  const entries = Object.entries(value);
  if (!entries.every((entry): entry is [string, string] => typeof entry[1] === 'string')) {
    return invalid('every parameter of the JSON body must be a string');
  }
  return new URLSearchParams(entries);
}

/** Exactly one client authentication method (RFC 6749 §2.3), checked. */
async function authenticateClient(
  basic: SecretCredentials | OAuthError | undefined,
  single: (name: string) => string | undefined,
  deps: OAuthRouteDeps,
  now: Date,
): Promise<Client | OAuthError> {
  const secret = single('client_secret');
  const assertion = single('client_assertion');
  const clientId = single('client_id');
  const methods = [basic, secret, assertion].filter((given) => given !== undefined).length;
  if (methods > 1) {
    return {
      error: 'invalid_request',
      description: 'use one client authentication method: Basic, client_secret or client_assertion',
    };
  }
  if (basic !== undefined || secret !== undefined) {
    const credentials: SecretCredentials | OAuthError = basic ?? {
      method: 'client_secret_post',
      clientId: clientId ?? '',
      secret: secret!,
    };
    if ('error' in credentials) return credentials;
    if (clientId !== undefined && clientId !== credentials.clientId) {
      return { error: 'invalid_client', description: 'client_id differs from the Basic client id' };
    }
    const verified = await verifyClientSecret(credentials, { getKey: deps.getKey, now });
    if ('error' in verified) {
      // The caller gets one generic answer; why is for the operator.
      deps.log.info(
        { clientId: credentials.clientId, method: credentials.method, why: verified.detail },
        'client secret refused',
      );
      return { error: verified.error, description: verified.description };
    }
    return { ...verified.client, purpose: 'event-source' };
  }
  if (single('client_assertion_type') !== jwtBearerAssertionType || assertion === undefined) {
    return {
      error: 'invalid_client',
      description: `authenticate with client_assertion_type=${jwtBearerAssertionType} and a client_assertion JWT signed with your key (docs/protocol.md), or, with an event-source key, with its secret (client_secret_basic or client_secret_post)`,
    };
  }
  const verified = await verifyClientAssertion(assertion, {
    getKey: deps.getKey,
    audience: deps.issuer,
    now,
    windowMs: deps.windowMs,
  });
  if ('error' in verified) return verified;
  if (clientId !== undefined && clientId !== verified.client.keyId) {
    return { error: 'invalid_client', description: "client_id differs from the assertion's iss" };
  }
  // Assertions verify under signing keys only (signingKeyRefusal).
  return { ...verified.client, purpose: 'signing', assertion: verified };
}

/** Every allowed scope when none is asked for; undefined when one asked for is not allowed. */
function requestedScopes(scope: string | undefined, allowed: readonly ApiScope[]): ApiScope[] | undefined {
  if (scope === undefined) return [...allowed];
  const names = scope.split(' ').filter((name) => name !== '');
  if (names.length === 0 || !names.every((name) => isApiScope(name) && allowed.includes(name))) {
    return undefined;
  }
  return [...new Set(names)] as ApiScope[];
}
