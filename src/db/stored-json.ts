import type { z } from 'zod';

// JSON columns are read back through the contract they were written with: a row changed by hand
// or by a faulty migration fails here, naming itself, instead of deep inside whatever reads it.

export type StoredValue<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

/** `value` as `schema` parses it, or the problem naming `what` (table.column of which row). */
export function checkStored<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): StoredValue<z.output<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || '(value)'}: ${issue.message}`,
  );
  return { ok: false, problem: `${what} does not match its contract: ${problems.join('; ')}` };
}

/** `value` as `schema` parses it; throws naming `what` (table.column of which row) otherwise. */
export function readStored<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const stored = checkStored(schema, value, what);
  if (stored.ok) return stored.value;
  throw new Error(stored.problem);
}
