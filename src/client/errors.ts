/** A job the producer SDK refuses to publish because the gateway would reject it as invalid_body. */
export class InvalidJobError extends Error {
  readonly code = 'invalid_body';
  constructor(readonly problems: readonly string[]) {
    super(`the job is invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'InvalidJobError';
  }
}

/** The broker did not take the message (no confirm, missing exchange, connection lost). */
export class PublishError extends Error {
  readonly code = 'publish_failed';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PublishError';
  }
}

/**
 * The API refused a request: `reason` is the problem+json reason code (docs/api.md, "Errors"), the
 * same codes the AMQP door's `rejected` events carry, or an RFC 6749 error of POST /oauth/token.
 */
export class ApiError extends Error {
  /** The reason code, as `code` on the SDK's other errors. */
  readonly code: string;
  /** One line per problem, for `invalid_body`. */
  readonly problems: readonly string[] | undefined;
  /** When a 429 says when to try again (and it was longer than the client waits by itself). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly status: number,
    readonly reason: string,
    readonly detail: string,
    extra: { readonly problems?: readonly string[]; readonly retryAfterSeconds?: number } = {},
  ) {
    super(`${status} ${reason}: ${detail}${extra.problems ? `\n  ${extra.problems.join('\n  ')}` : ''}`);
    this.name = 'ApiError';
    this.code = reason;
    this.problems = extra.problems;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** No answer from the API (connection refused or cut, timeout), after the retries it allows. */
export class ApiUnreachableError extends Error {
  readonly code = 'api_unreachable';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ApiUnreachableError';
  }
}

/**
 * Why a fetch got no answer: undici's own cause ("connect ECONNREFUSED 127.0.0.1:8080"), not its
 * "fetch failed". A host with several addresses (localhost: ::1 and 127.0.0.1) fails with an
 * AggregateError whose own message is empty: each address's reason, then.
 */
export function unreachableReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : error;
  if (cause instanceof AggregateError && cause.errors.length > 0)
    return [...new Set(cause.errors.map((each) => unreachableReason(each)))].join('; ');
  return cause.message || (cause as { code?: string }).code || error.message;
}
