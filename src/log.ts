import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout. Secrets never reach a log call; the redaction list is a second line of defence. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...bindings },
    redact: {
      paths: [
        'secret',
        '*.secret',
        'keySecret',
        '*.keySecret',
        'masterKey',
        '*.masterKey',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
