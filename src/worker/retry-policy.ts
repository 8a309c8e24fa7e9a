// What happens to a task that failed: pure decisions from the error and the attempt history.
import { errorMessage, PermanentError, TransientError } from '../errors.js';

export interface Failure {
  readonly transient: boolean;
  readonly code: string;
  readonly message: string;
}

export type FailureDecision = 'fail' | 'retry' | 'dead-letter';

/**
 * Typed errors say what they are. Anything else (a bug, a driver error such as a dropped database
 * connection) counts as transient: it gets its retries, and if it keeps failing it ends in the
 * dead-letter queue where an operator sees it, instead of failing an item for a reason not its own.
 */
export function classifyFailure(error: unknown): Failure {
  if (error instanceof PermanentError) return { transient: false, code: error.code, message: error.message };
  if (error instanceof TransientError) return { transient: true, code: error.code, message: error.message };
  return { transient: true, code: 'internal_error', message: errorMessage(error).slice(0, 2000) };
}

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
