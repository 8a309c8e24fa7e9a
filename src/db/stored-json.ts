import type { z } from 'zod';

// JSON columns are read back through the contract they were written with: a row changed by hand
// or by a faulty migration fails here, naming itself, instead of deep inside whatever reads it.

/** `value` as `schema` parses it; throws naming `what` (table.column of which row) otherwise. */
export function readStored<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`,
  );
  throw new Error(`${what} does not match its contract: ${problems.join('; ')}`);
}
