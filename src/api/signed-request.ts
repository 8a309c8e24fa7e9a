import type { Rejected } from '../admission/decision.js';
import { reject } from '../admission/decision.js';
import { signingKeyRefusal } from '../admission/key-refusal.js';
import type { Refusal } from '../admission/refusals.js';
import { messageIdPattern } from '../contracts/identifiers.js';
import {
  assertFreshTimestamp,
  httpCanonicalString,
  parseSigningHeaders,
  SignatureError,
  verifyCanonical,
} from '../signing/index.js';
import { type GetKey, type Principal, scopesByPurpose } from './principal.js';

// A request signed with the four cc-* headers (docs/protocol.md, "Signed HTTP requests"), checked
// in the AMQP door's order: headers, key, signature, timestamp. The nonce is the caller's to record
// (through the admission core for POST /v1/jobs, directly otherwise), in the same transaction.

export interface HttpRequestParts {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface SignedRequestContext {
  readonly getKey: GetKey;
  readonly now: Date;
  readonly windowMs: number;
}

export type SignedRequestCheck =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly decision: Rejected; readonly refusal: Refusal };

/** True when the request carries any signing header (then it is judged as a signed request). */
export function looksSigned(headers: HttpRequestParts['headers']): boolean {
  return ['cc-key-id', 'cc-signature', 'cc-timestamp', 'cc-nonce'].some(
    (name) => headers[name] !== undefined,
  );
}

export async function checkSignedRequest(
  request: HttpRequestParts,
  context: SignedRequestContext,
): Promise<SignedRequestCheck> {
  // A refused job submission is announced under its job id, as the AMQP door does.
  const idempotencyKey = request.headers['idempotency-key'];
  const jobId =
    typeof idempotencyKey === 'string' && messageIdPattern.test(idempotencyKey) ? idempotencyKey : undefined;
  const refused = (
    decision: Rejected,
    who: { keyId?: string; tenantId?: string } = {},
  ): SignedRequestCheck => ({
    ok: false,
    decision,
    refusal: {
      source: 'api',
      ...who,
      ...(jobId === undefined ? {} : { jobId }),
      rejection: decision.rejection,
    },
  });
  let headers: ReturnType<typeof parseSigningHeaders>;
  try {
    headers = parseSigningHeaders(singleValued(request.headers));
  } catch (error) {
    if (error instanceof SignatureError) return refused(reject(error.reason, error.message));
    throw error;
  }
  const key = await context.getKey(headers.keyId);
  if (key === undefined)
    return refused(reject('unknown_key', `no key ${headers.keyId}`), { keyId: headers.keyId });
  const canonical = httpCanonicalString(
    {
      ...headers,
      method: request.method,
      target: request.target,
      idempotencyKey: text(request.headers['idempotency-key']),
      contentType: text(request.headers['content-type']),
    },
    request.body,
  );
  const signed = verifyCanonical(Buffer.from(canonical, 'utf8'), headers.signature, key);
  // Only a valid signature makes the refusal the tenant's (a key id alone is public).
  const who = signed ? { keyId: key.keyId, tenantId: key.tenantId } : { keyId: key.keyId };
  const keyProblem = signingKeyRefusal(key, context.now);
  if (keyProblem) return refused(keyProblem, who);
  if (!signed) {
    return refused(
      reject(
        'bad_signature',
        `the signature does not match the request under key ${key.keyId} (${key.algorithm}); was the method, target, Idempotency-Key, Content-Type or body changed?`,
      ),
      who,
    );
  }
  try {
    assertFreshTimestamp(headers, context.now.getTime(), context.windowMs);
  } catch (error) {
    if (error instanceof SignatureError) return refused(reject(error.reason, error.message), who);
    throw error;
  }
  return {
    ok: true,
    principal: {
      tenantId: key.tenantId,
      keyId: key.keyId,
      scopes: new Set(scopesByPurpose.signing),
      nonce: { value: headers.nonce, expiresAt: new Date(headers.timestamp * 1000 + context.windowMs) },
    },
  };
}

/** A header sent twice is not one value: it is treated as absent-or-malformed by the patterns. */
function singleValued(headers: HttpRequestParts['headers']): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
  );
}

function text(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}
