import { wellFormed } from '../contracts/storable-text.js';

// Rows sent as ONE JSON parameter (json_to_recordset) instead of pg's escaped text arrays. But
// JSON.stringify writes an unpaired UTF-16 surrogate (half an emoji cut by a length limit) as a
// `\udXXX` escape, which PostgreSQL's json refuses ("Unicode low surrogate must follow a high
// surrogate"), failing the whole statement, where a text parameter stored it as U+FFFD: such
// string values are written so here too. Keys are the caller's own column names, and NUL is
// refused by PostgreSQL's text either way (callers pass storableText where it can occur).

const surrogateEscape = /\\ud[89a-f]/i;

const wellFormedStrings = (_key: string, value: unknown) =>
  typeof value === 'string' ? wellFormed(value) : value;

/** `value` as JSON PostgreSQL's json type accepts, whatever unpaired surrogates its string values hold. */
export function jsonParameter(value: unknown): string {
  const json = JSON.stringify(value);
  // Paired surrogates are written as they are; only an unpaired one (or a literal "\ud8…") is escaped.
  return surrogateEscape.test(json) ? JSON.stringify(value, wellFormedStrings) : json;
}
