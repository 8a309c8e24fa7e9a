// Whether a failed transaction is worth retrying as it is, or would fail the same way every time.

// SQLSTATE classes of a database that is away, overloaded or resolving a conflict: 08 connection,
// 40 serialization failure / deadlock, 53 insufficient resources, 57 operator intervention (shutdown).
const transientClasses = new Set(['08', '40', '53', '57']);
// What pg says when the socket goes away, before any SQLSTATE exists.
const connectionTrouble = /connect|terminat|timeout|timed out|closed|ended|socket/i;

export function isTransientDatabaseError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    // Node system errors (ECONNREFUSED, ECONNRESET, ...) are the network's, not the data's.
    return /^[0-9A-Z]{5}$/.test(code) ? transientClasses.has(code.slice(0, 2)) : code.startsWith('E');
  }
  return typeof message === 'string' && connectionTrouble.test(message);
}
