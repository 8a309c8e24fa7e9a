/** Waits that double from `initialMs` after each failure, up to `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * How long to wait before retry number `attempt` (0 for the first): the doubled, capped delay with
 * its upper half randomised, so that the many processes one broker restart disconnects do not all
 * knock again at the same instant, yet none retries sooner than half its delay.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random) {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
