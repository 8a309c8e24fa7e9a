import { section, variable } from './define.js';
import { wholeNumber } from './parsers.js';

export const workerSection = section(
  {
    CLEARCUT_WORKER_PREFETCH: variable({
      doc: 'Tasks a worker holds at once; enough to overlap download/encode/upload with inference.',
      expected: 'a whole number from 1 to 1000',
      default: '4',
      schema: wholeNumber(1, 1000),
    }),
    CLEARCUT_MAX_ATTEMPTS: variable({
      doc: 'Attempts a task gets for transient errors before it goes to the dead-letter queue.',
      expected: 'a whole number from 1 to 100',
      default: '5',
      schema: wholeNumber(1, 100),
    }),
    CLEARCUT_HTTP_PORT: variable({
      doc: 'Port of the /healthz, /readyz and /metrics HTTP server of a long-running process; 0 picks a free port.',
      expected: 'a port number from 0 to 65535',
      default: '9464',
      schema: wholeNumber(0, 65_535),
    }),
  },
  (v) => ({
    prefetch: v.CLEARCUT_WORKER_PREFETCH,
    maxAttempts: v.CLEARCUT_MAX_ATTEMPTS,
    httpPort: v.CLEARCUT_HTTP_PORT,
  }),
);
