// The pieces the OpenAPI document's parts (openapi.ts, remove-, webhooks- and eventbridge-openapi.ts)
// build their operations from, kept in one place so every operation says them alike.

/** A schema of the document's components. */
export const component = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A body of one component's schema. */
export const json = (name: string, contentType = 'application/json') => ({
  content: { [contentType]: { schema: component(name) } },
});

/** A JSON answer of one component's schema. */
export const answer = (description: string, name: string) => ({ description, ...json(name) });

/** The problem+json answers of these statuses. */
export const problems = (statuses: readonly number[], description = 'A problem') =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description, ...json('Problem', 'application/problem+json') },
    ]),
  );

/** A signed request or a bearer token. */
export const secured = [{ signedRequest: [] }, { bearer: [] }];

/** An optional query parameter, a string (one of `values` when given). */
export const query = (name: string, description: string, values?: readonly string[]) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: values ? { type: 'string', enum: values } : { type: 'string' },
});

/** A job id, which is also the Idempotency-Key. */
export const jobIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' };
