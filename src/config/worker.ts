import { optionalVariable, section, variable } from './define.js';
import { byteSize, duration, durationList, text, wholeNumber } from './parsers.js';

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
    CLEARCUT_RETRY_DELAYS: variable({
      doc: 'Backoff before each retry of a transient failure, comma-separated; the last repeats. One retry queue (TTL + dead-letter) per delay.',
      expected: 'up to 20 comma-separated durations of at least 10ms, such as 1s,5s,30s,2m',
      default: '1s,5s,30s,2m',
      schema: durationList(),
    }),
    CLEARCUT_WORKER_DRAIN_TIMEOUT: variable({
      doc: 'On SIGTERM, how long a worker waits for its in-flight tasks before handing the rest back to the queue.',
      expected: 'a duration such as 30s or 2m',
      default: '30s',
      schema: duration(0),
    }),
    CLEARCUT_WORKER_MEMORY_LIMIT: optionalVariable({
      doc: "The memory a worker may use (e.g. 2GiB), instead of its cgroup's limit; for hosts whose limit is not in the worker's cgroup. A worker refuses to start when this (or the cgroup's limit) is below what its models need (docs/worker.md, Sizing).",
      expected: 'a byte size such as 2GiB or 1536MiB',
      schema: byteSize(1),
    }),
    CLEARCUT_CGROUP_ROOT: variable({
      doc: 'Where the cgroup filesystem is mounted; the worker reads its memory limit from `memory.max` (v2) or `memory/memory.limit_in_bytes` (v1) there.',
      expected: 'a directory path',
      default: '/sys/fs/cgroup',
      schema: text(),
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
    retryDelaysMs: v.CLEARCUT_RETRY_DELAYS,
    drainTimeoutMs: v.CLEARCUT_WORKER_DRAIN_TIMEOUT,
    httpPort: v.CLEARCUT_HTTP_PORT,
    memoryLimit: { override: v.CLEARCUT_WORKER_MEMORY_LIMIT, cgroupRoot: v.CLEARCUT_CGROUP_ROOT },
  }),
);
