import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { type SigningSecret, signHttpRequest } from '../signing/index.js';
import { ApiError, ApiUnreachableError, unreachableReason } from './errors.js';

// How the HTTP client proves who it is (docs/protocol.md section 9): each request signed with the
// four cc-* headers, or a bearer access token that it gets from POST /oauth/token with an RFC 7523
// assertion signed by the key (the secret never leaves the process) and renews before it expires.

/** What a request binds: the signed fields of section 9.1. */
export interface OutgoingRequest {
  readonly method: string;
  /** The path and, when there is one, `?` and the query, exactly as sent. */
  readonly target: string;
  readonly idempotencyKey?: string;
  readonly contentType?: string;
  readonly body: Buffer;
}

export interface Authorizer {
  /** The authentication headers of one attempt (a new nonce or the current token each time). */
  headers(request: OutgoingRequest): Promise<Record<string, string>>;
  /** Forgets a token the API refused as invalid_token; false when there is nothing to renew. */
  renew(): boolean;
}

export interface KeyCredentials {
  readonly keyId: string;
  readonly secret: SigningSecret;
}

export function signedRequests({ keyId, secret }: KeyCredentials): Authorizer {
  return {
    async headers(request) {
      return signHttpRequest({
        keyId,
        secret,
        method: request.method,
        target: request.target,
        idempotencyKey: request.idempotencyKey ?? '',
        contentType: request.contentType ?? '',
        body: request.body,
      });
    },
    renew: () => false,
  };
}

export interface TokenOptions extends KeyCredentials {
  readonly baseUrl: string;
  /** The API's issuer name (CLEARCUT_API_ISSUER): the assertion's `aud`. */
  readonly audience: string;
  readonly scopes: readonly string[] | undefined;
  readonly timeoutMs: number;
}

/** A token is renewed once this share of its life has passed, so no request carries one about to expire. */
const renewAfterShare = 0.75;
const assertionLifetimeSeconds = 60;

export function bearerTokens(options: TokenOptions): Authorizer {
  let current: Promise<{ token: string; renewAt: number }> | undefined;
  // One token request at a time, shared by every request waiting for it; a failed one is forgotten.
  const take = () => {
    const requestedAt = Date.now();
    const request = requestToken(options).then((answer) => ({
      token: answer.access_token,
      renewAt: requestedAt + answer.expires_in * 1000 * renewAfterShare,
    }));
    current = request;
    request.catch(() => {
      if (current === request) current = undefined;
    });
    return request;
  };
  return {
    async headers() {
      const pending = current ?? take();
      let held = await pending;
      if (Date.now() >= held.renewAt) {
        held = await (current === pending || current === undefined ? take() : current);
      }
      return { authorization: `Bearer ${held.token}` };
    },
    renew() {
      current = undefined;
      return true;
    },
  };
}

export interface TokenAnswer {
  readonly access_token: string;
  readonly expires_in: number;
  readonly scope?: string;
}

/** One POST /oauth/token with a fresh client assertion (RFC 7523). */
export async function requestToken(options: TokenOptions): Promise<TokenAnswer> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await clientAssertion(options),
    ...(options.scopes === undefined ? {} : { scope: options.scopes.join(' ') }),
  });
  let response: Response;
  try {
    response = await fetch(new URL('/oauth/token', options.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new ApiUnreachableError(`POST /oauth/token: ${unreachableReason(error)}`, { cause: error });
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (
    response.status === 200 &&
    typeof answer.access_token === 'string' &&
    typeof answer.expires_in === 'number'
  ) {
    return {
      access_token: answer.access_token,
      expires_in: answer.expires_in,
      ...(typeof answer.scope === 'string' ? { scope: answer.scope } : {}),
    };
  }
  // RFC 6749 §5.2: { error, error_description }.
  throw new ApiError(
    response.status,
    typeof answer.error === 'string' ? answer.error : 'invalid_token_response',
    typeof answer.error_description === 'string'
      ? answer.error_description
      : `POST /oauth/token answered ${response.status} without a token`,
  );
}

/** RFC 7523: client_secret_jwt (HS256) for an HMAC key, private_key_jwt (EdDSA) for an Ed25519 key. */
function clientAssertion({ keyId, secret, audience }: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({})
    .setIssuer(keyId)
    .setSubject(keyId)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + assertionLifetimeSeconds)
    .setJti(randomBytes(16).toString('base64url'));
  return secret.algorithm === 'hmac-sha256'
    ? jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new Uint8Array(secret.secret))
    : jwt.setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' }).sign(secret.privateKey);
}
