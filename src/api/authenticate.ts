import type { FastifyReply, FastifyRequest } from 'fastify';
import { reject } from '../admission/decision.js';
import { nonceLedger } from '../admission/nonces.js';
import { type RefusalBudget, recordRefusals } from '../admission/refusals.js';
import type { Database } from '../db/database.js';
import type { AccessTokenIssuer } from './access-tokens.js';
import type { ApiScope, GetKey, Principal } from './principal.js';
import { ProblemError, problem, rejectionProblem } from './problems.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { checkSignedRequest, looksSigned } from './signed-request.js';

// Who is calling: a bearer access token, or a request signed with the cc-* headers. Refusals of
// signed requests are audited like the AMQP door's (unverified ones within the refusal budget).

export interface AuthenticatorDeps {
  readonly db: Database;
  readonly getKey: GetKey;
  readonly tokens: AccessTokenIssuer;
  readonly now: () => Date;
  readonly windowMs: number;
  readonly refusals: RefusalBudget;
}

export interface AuthOptions {
  readonly scope: ApiScope;
  /** POST /v1/jobs hands the nonce to the admission core; every other route records it here. */
  readonly nonceByAdmission?: boolean;
}

const principals = new WeakMap<FastifyRequest, Principal>();

export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (principal === undefined) throw new Error('route without authentication');
  return principal;
}

export function createAuthenticator(deps: AuthenticatorDeps) {
  async function identify(request: FastifyRequest, now: Date): Promise<Principal> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
      if (!match)
        throw new ProblemError(problem('invalid_token', 'Authorization must be "Bearer <access token>"'));
      const verified = await deps.tokens.verify(match[1]!, now);
      if ('problem' in verified) throw new ProblemError(verified.problem);
      return verified.principal;
    }
    if (!looksSigned(request.headers)) {
      throw new ProblemError(
        problem(
          'missing_header',
          'no credentials: send Authorization: Bearer <token from POST /oauth/token>, or sign the request with cc-key-id, cc-timestamp, cc-nonce and cc-signature (docs/protocol.md)',
        ),
      );
    }
    const checked = await checkSignedRequest(
      {
        method: request.method,
        target: request.raw.url ?? request.url,
        headers: request.headers,
        body: bodyOf(request),
      },
      { getKey: deps.getKey, now, windowMs: deps.windowMs },
    );
    if (!checked.ok) {
      await deps.db.transaction((tx) => recordRefusals(tx, [checked.refusal], now, deps.refusals));
      throw new ProblemError(rejectionProblem(checked.decision.rejection));
    }
    return checked.principal;
  }

  /** Records the nonce of a signed read request; a replay is refused (and audited under its tenant). */
  async function holdNonce(principal: Principal, target: string, now: Date) {
    if (principal.nonce === null) return;
    const use = {
      keyId: principal.keyId,
      nonce: principal.nonce.value,
      messageId: 'http',
      expiresAt: principal.nonce.expiresAt,
    };
    const replayed = await deps.db.transaction(async (tx) => {
      const taken = await nonceLedger.record(tx, [use], now);
      if (taken.size === 0) return undefined;
      const decision = reject('replayed_nonce', `nonce ${use.nonce} was already used with key ${use.keyId}`);
      await recordRefusals(
        tx,
        [
          {
            source: 'api',
            tenantId: principal.tenantId,
            keyId: principal.keyId,
            rejection: decision.rejection,
          },
        ],
        now,
        deps.refusals,
      );
      return decision;
    });
    if (replayed)
      throw new ProblemError(
        rejectionProblem({ ...replayed.rejection, message: `${replayed.rejection.message} (${target})` }),
      );
  }

  return (options: AuthOptions) =>
    async function authenticate(request: FastifyRequest, reply: FastifyReply) {
      const now = deps.now();
      const principal = await identify(request, now);
      if (!principal.scopes.has(options.scope)) {
        throw new ProblemError(
          problem(
            'insufficient_scope',
            `this needs the ${options.scope} scope; the token was issued without it`,
          ),
        );
      }
      if (!options.nonceByAdmission) await holdNonce(principal, request.url, now);
      principals.set(request, principal);
      reply.headers(await rateLimitHeaders(deps.db, principal.tenantId, now));
    };
}

/** The raw body bytes (every content type is read as a Buffer); none is zero bytes. */
export function bodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}
