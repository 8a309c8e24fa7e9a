import { type BackoffPolicy, backoffDelay } from '../queue/backoff.js';
import { ApiError, ApiUnreachableError, unreachableReason } from './errors.js';
import type { Authorizer, OutgoingRequest } from './http-auth.js';

// Sends one API call, authenticated afresh on each attempt, and decides what a failed attempt
// means: a 429 or a 5xx is tried again after its Retry-After when that is short (a 5xx without one,
// or no answer, after a backoff; every call of the client is safe to repeat: reads change nothing,
// and POST /v1/jobs and /v1/remove carry an Idempotency-Key); an expired token is renewed once;
// anything else is thrown as the problem+json's reason code.

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  readonly attempts: number;
  /** The longest Retry-After (of a 429 or a 5xx) the client waits out by itself; a longer one is thrown. */
  readonly maxRetryAfterSeconds: number;
  /** Waits before trying again after no answer or a 5xx (doubling, the upper half random). */
  readonly backoff: BackoffPolicy;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 4,
  maxRetryAfterSeconds: 10,
  backoff: { initialMs: 250, maxMs: 4000 },
};

export interface TransportOptions {
  readonly baseUrl: string;
  readonly auth: Authorizer;
  readonly retry: RetryPolicy;
  /** Longest wait for one attempt's answer. */
  readonly timeoutMs: number;
}

export type Send = (call: OutgoingRequest) => Promise<Response>;

export function createTransport({ baseUrl, auth, retry, timeoutMs }: TransportOptions): Send {
  return async function send(call) {
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= retry.attempts;
      let response: Response;
      try {
        response = await fetch(new URL(call.target, baseUrl), {
          method: call.method,
          headers: {
            ...(await auth.headers(call)),
            ...(call.contentType === undefined ? {} : { 'content-type': call.contentType }),
            ...(call.idempotencyKey === undefined ? {} : { 'idempotency-key': call.idempotencyKey }),
          },
          ...(call.body.length === 0 ? {} : { body: call.body }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        if (error instanceof ApiError) throw error; // the token endpoint refused the key
        if (last) throw unreachable(call, attempt, error);
        await pause(backoffDelay(attempt - 1, retry.backoff));
        continue;
      }
      if (response.ok) return response;
      const failure = await apiError(response);
      if ((failure.status === 429 || failure.status >= 500) && !last) {
        // The server's Retry-After when it sends one (a 429, or a 503 while busy or shutting down),
        // thrown when longer than allowed; else 1 s for a 429 and the backoff for a 5xx.
        const asked = failure.retryAfterSeconds;
        if (asked === undefined || asked <= retry.maxRetryAfterSeconds) {
          const fallbackMs = failure.status === 429 ? 1000 : backoffDelay(attempt - 1, retry.backoff);
          await pause(asked === undefined ? fallbackMs : asked * 1000);
          continue;
        }
      }
      if (failure.reason === 'invalid_token' && !renewed && auth.renew()) {
        renewed = true;
        attempt--; // a renewed token is not a failed attempt
        continue;
      }
      throw failure;
    }
  };
}

function unreachable(call: OutgoingRequest, attempts: number, error: unknown): ApiUnreachableError {
  return new ApiUnreachableError(
    `${call.method} ${call.target.split('?')[0]}: no answer after ${attempts} attempt(s): ${unreachableReason(error)}`,
    { cause: error },
  );
}

/** The problem+json of a failed answer (RFC 9457), or what can be said of an answer without one. */
async function apiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: a proxy's error page, for instance.
  }
  const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
  const problems = Array.isArray(body.problems) ? body.problems.map(String) : undefined;
  return new ApiError(
    response.status,
    typeof body.reason === 'string' ? body.reason : `http_${response.status}`,
    typeof body.detail === 'string' ? body.detail : text.slice(0, 200) || response.statusText,
    {
      ...(problems === undefined ? {} : { problems }),
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    },
  );
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
