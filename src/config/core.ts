import { section, variable } from './define.js';
import { duration, identifier, oneOf, url, wholeNumber } from './parsers.js';

export const logSection = section(
  {
    CLEARCUT_LOG_LEVEL: variable({
      doc: 'Log level of the JSON logs every process writes to stdout.',
      expected: 'one of fatal, error, warn, info, debug, trace, silent',
      default: 'info',
      schema: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    }),
  },
  (v) => ({ level: v.CLEARCUT_LOG_LEVEL }),
);

export const databaseSection = section(
  {
    CLEARCUT_DATABASE_URL: variable({
      doc: 'PostgreSQL connection URL.',
      expected: 'a postgres:// or postgresql:// URL',
      default: 'postgres://postgres@127.0.0.1:5432/postgres',
      secret: true,
      schema: url(['postgres', 'postgresql']),
    }),
    CLEARCUT_DATABASE_SCHEMA: variable({
      doc: "PostgreSQL schema holding ClearCut's tables (created by `clearcut migrate`).",
      expected: 'a lowercase identifier ([a-z][a-z0-9_]*)',
      default: 'clearcut',
      schema: identifier(),
    }),
    CLEARCUT_DATABASE_POOL_SIZE: variable({
      doc: 'Maximum PostgreSQL connections per process.',
      expected: 'a whole number from 1 to 100',
      default: '10',
      schema: wholeNumber(1, 100),
    }),
    CLEARCUT_DATABASE_CONNECT_TIMEOUT: variable({
      doc: 'Longest the LISTEN connection (each gateway and API process keeps one for notices) may take to open and subscribe before the attempt is given up and retried; a server that swallows packets (a firewall, a half-dead host) would otherwise hold it for ever. Every PostgreSQL connection also sends TCP keepalives, so a link that dies silently is noticed.',
      expected: 'a duration of at least 100ms, such as 10s',
      default: '10s',
      schema: duration(100),
    }),
  },
  (v) => ({
    url: v.CLEARCUT_DATABASE_URL,
    schema: v.CLEARCUT_DATABASE_SCHEMA,
    poolSize: v.CLEARCUT_DATABASE_POOL_SIZE,
    connectTimeoutMs: v.CLEARCUT_DATABASE_CONNECT_TIMEOUT,
  }),
);

export const brokerSection = section(
  {
    CLEARCUT_AMQP_URL: variable({
      doc: 'RabbitMQ connection URL; use amqps:// for TLS.',
      expected: 'an amqp:// or amqps:// URL',
      default: 'amqp://guest:guest@127.0.0.1:5672',
      secret: true,
      schema: url(['amqp', 'amqps']),
    }),
    CLEARCUT_AMQP_PREFIX: variable({
      doc: 'Prefix of every exchange and queue name (`<prefix>.jobs`, `<prefix>.tasks`, ...); lets several stacks share a broker.',
      expected: 'a lowercase identifier ([a-z][a-z0-9_]*)',
      default: 'clearcut',
      schema: identifier(),
    }),
    CLEARCUT_AMQP_RECONNECT_DELAY: variable({
      doc: 'First wait before a gateway, worker or event consumer reconnects to a lost broker; doubles after each failed attempt (randomised by up to half).',
      expected: 'a duration such as 500ms or 2s (at least 10ms)',
      default: '500ms',
      schema: duration(10),
    }),
    CLEARCUT_AMQP_RECONNECT_MAX_DELAY: variable({
      doc: 'Longest wait between broker reconnect attempts; a process keeps trying for as long as it runs, reporting not ready on /readyz meanwhile.',
      expected: 'a duration such as 30s or 1m (at least 10ms)',
      default: '30s',
      schema: duration(10),
    }),
  },
  (v) => ({
    url: v.CLEARCUT_AMQP_URL,
    prefix: v.CLEARCUT_AMQP_PREFIX,
    reconnect: { initialMs: v.CLEARCUT_AMQP_RECONNECT_DELAY, maxMs: v.CLEARCUT_AMQP_RECONNECT_MAX_DELAY },
  }),
  (v) =>
    v.CLEARCUT_AMQP_RECONNECT_MAX_DELAY < v.CLEARCUT_AMQP_RECONNECT_DELAY
      ? [
          `CLEARCUT_AMQP_RECONNECT_MAX_DELAY (${v.CLEARCUT_AMQP_RECONNECT_MAX_DELAY} ms) is shorter than CLEARCUT_AMQP_RECONNECT_DELAY (${v.CLEARCUT_AMQP_RECONNECT_DELAY} ms): make the maximum at least the first delay`,
        ]
      : [],
);
