import { section, variable } from './define.js';
import { identifier, oneOf, url, wholeNumber } from './parsers.js';

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
  },
  (v) => ({
    url: v.CLEARCUT_DATABASE_URL,
    schema: v.CLEARCUT_DATABASE_SCHEMA,
    poolSize: v.CLEARCUT_DATABASE_POOL_SIZE,
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
  },
  (v) => ({ url: v.CLEARCUT_AMQP_URL, prefix: v.CLEARCUT_AMQP_PREFIX }),
);
