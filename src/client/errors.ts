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
