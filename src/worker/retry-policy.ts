// What happens to a task that failed: pure decisions from the error and the attempt history.
import {
  type ItemErrorCode,
  type ItemErrorDecision,
  isItemErrorCode,
  itemErrorCodes,
  itemErrorMessage,
} from '../contracts/item-errors.js';
import { errorMessage, PermanentError, TransientError } from '../errors.js';

export interface Failure {
  readonly transient: boolean;
  readonly code: ItemErrorCode;
  /** At most itemErrorMessageMax characters, storable in PostgreSQL. */
  readonly message: string;
}

export type FailureDecision = ItemErrorDecision;

/**
 * A typed error whose code is an item error code (src/contracts/item-errors.ts) fails, retries or
 * dead-letters as that code says. Anything else — a bug, a driver error such as a dropped database
 * connection, a typed error with a code items do not have — is `internal_error`, transient: it
 * gets its retries, and if it keeps failing it ends in the dead-letter queue where an operator sees
 * it, instead of failing an item for a reason not its own.
 */
export function classifyFailure(error: unknown): Failure {
  const typed = error instanceof PermanentError || error instanceof TransientError;
  if (typed && isItemErrorCode(error.code)) {
    return {
      transient: itemErrorCodes[error.code] !== 'fail',
      code: error.code,
      message: bounded(error.message),
    };
  }
  const message = typed ? `${error.code}: ${error.message}` : errorMessage(error);
  return { transient: true, code: 'internal_error', message: bounded(message) };
}

/** A message as an item may carry it: storable, and cut to the contract's length. */
export const bounded = itemErrorMessage;

/** `retries` = times this task already went through a retry queue (from x-death). */
export function decideFailure(failure: Failure, retries: number, maxAttempts: number): FailureDecision {
  if (!failure.transient) return 'fail';
  return retries + 1 >= maxAttempts ? 'dead-letter' : 'retry';
}

/**
 * Retries so far: the broker adds an `x-death` entry (reason `expired`) each time a retry queue
 * hands the task back; `count` grows when the same queue does it again. The tasks queues have no
 * TTL, so every `expired` death is a retry. Producers cannot forge `redelivered`, but it only says
 * "delivered before", not how often, and a crash is not a failed attempt: it is not used.
 */
export function retriesFromHeaders(headers: unknown): number {
  if (typeof headers !== 'object' || headers === null) return 0;
  const deaths = (headers as Record<string, unknown>)['x-death'];
  if (!Array.isArray(deaths)) return 0;
  let retries = 0;
  for (const death of deaths) {
    if (typeof death !== 'object' || death === null) continue;
    const { reason, count } = death as { reason?: unknown; count?: unknown };
    if (reason === 'expired' && typeof count === 'number' && Number.isInteger(count) && count > 0) {
      retries += count;
    }
  }
  return retries;
}
