import type { Rejection } from '../admission/decision.js';
import type { RejectionReason } from '../contracts/reasons.js';
import type { ImageRefusalCode } from '../images/refusal.js';

// Errors as RFC 9457 problem details. Every admission refusal keeps the reason code the AMQP door
// sends in its `rejected` event; the few failures only HTTP has get codes of their own.

export const problemContentType = 'application/problem+json';

/** Failures only the HTTP door has (the rest are the admission core's reason codes). */
export type ApiFailure =
  | 'invalid_token'
  | 'insufficient_scope'
  | 'not_found'
  | 'unsupported_media_type'
  | 'invalid_request'
  | 'internal_error'
  /** POST /v1/remove: the worker failed the image; `problems` holds its item error code and message. */
  | 'item_failed'
  /** POST /v1/remove: this API process already holds as many removes as it takes; retry later. */
  | 'busy';

/** POST /v1/remove refuses an upload with the code the worker would give it (src/images/refusal.ts). */
export type ProblemCode = RejectionReason | ApiFailure | ImageRefusalCode;

const statusOf: Record<ProblemCode, number> = {
  body_too_large: 413,
  missing_header: 401,
  invalid_header: 401,
  unknown_key: 401,
  revoked_key: 401,
  expired_key: 401,
  bad_signature: 401,
  stale_timestamp: 401,
  replayed_nonce: 401,
  invalid_token: 401,
  invalid_body: 422,
  unknown_model: 422,
  too_many_items: 422,
  forbidden_location: 403,
  insufficient_scope: 403,
  duplicate: 409,
  rate_limited: 429,
  quota_exceeded: 429,
  not_found: 404,
  unsupported_media_type: 415,
  invalid_request: 400,
  internal_error: 500,
  item_failed: 422,
  busy: 503,
  empty_file: 400,
  too_large: 413,
  unsupported_format: 415,
  too_many_pixels: 422,
  animated_image: 422,
  corrupt_image: 422,
  decode_timeout: 422,
};

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The stable code producers switch on. */
  readonly reason: ProblemCode;
  readonly problems?: readonly string[];
  readonly retryAfterSeconds?: number;
}

export function problem(
  reason: ProblemCode,
  detail: string,
  extra: Pick<Problem, 'problems' | 'retryAfterSeconds'> = {},
): Problem {
  return {
    type: `urn:clearcut:reason:${reason}`,
    title: reason.replaceAll('_', ' '),
    status: statusOf[reason],
    detail,
    reason,
    ...extra,
  };
}

export function rejectionProblem(rejection: Rejection): Problem {
  return problem(rejection.reason, rejection.message, {
    ...(rejection.problems === undefined ? {} : { problems: rejection.problems }),
    ...(rejection.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: rejection.retryAfterSeconds }),
  });
}

/** Thrown inside a route; the error handler answers it as a problem. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ProblemError';
  }
}
