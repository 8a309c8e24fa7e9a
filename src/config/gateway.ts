import { optionalVariable, section, variable } from './define.js';
import { byteSize, duration, flag, text, wholeNumber } from './parsers.js';

export const gatewaySection = section(
  {
    CLEARCUT_MASTER_KEY: optionalVariable({
      doc: 'Base64 of 32 random bytes; encrypts HMAC key secrets at rest (AES-256-GCM). Required by the gateway and `clearcut keys`. Make one with `openssl rand -base64 32`.',
      expected: 'base64 of exactly 32 bytes (openssl rand -base64 32)',
      secret: true,
      schema: text(100),
    }),
    CLEARCUT_TIMESTAMP_WINDOW: variable({
      doc: 'A signed message is fresh while its timestamp is less than this from the database clock, either way; its nonce is kept this long plus 60 s.',
      expected: 'a duration such as 300s or 5m',
      default: '300s',
      schema: duration(1000),
    }),
    CLEARCUT_MAX_BODY_BYTES: variable({
      doc: 'Largest job message body the gateway reads; larger messages are rejected unread.',
      expected: 'a byte size such as 262144 or 256KiB',
      default: '256KiB',
      schema: byteSize(1024),
    }),
    CLEARCUT_GATEWAY_PREFETCH: variable({
      doc: 'Unacknowledged job messages a gateway holds at once.',
      expected: 'a whole number from 1 to 10000',
      default: '400',
      schema: wholeNumber(1, 10_000),
    }),
    CLEARCUT_GATEWAY_BATCH_SIZE: variable({
      doc: 'Most job messages the gateway decides in one database transaction (then acks together).',
      expected: 'a whole number from 1 to 5000',
      default: '200',
      schema: wholeNumber(1, 5000),
    }),
    CLEARCUT_GATEWAY_BATCH_WINDOW: variable({
      doc: 'How long the gateway waits for more messages before deciding a batch that is not full.',
      expected: 'a duration such as 0ms, 5ms or 20ms',
      default: '5ms',
      schema: duration(0),
    }),
    CLEARCUT_GATEWAY_BATCHES_IN_FLIGHT: variable({
      doc: 'Batches a gateway decides at the same time (each in its own transaction); acks still go out in delivery order.',
      expected: 'a whole number from 1 to 16',
      default: '2',
      schema: wholeNumber(1, 16),
    }),
    CLEARCUT_KEY_CACHE_TTL: variable({
      doc: 'How long a gateway trusts a cached signing key. `clearcut keys revoke|rotate` also NOTIFY every gateway at once; this bounds the delay if that notice is lost.',
      expected: 'a duration such as 1s or 30s',
      default: '1s',
      schema: duration(0),
    }),
    CLEARCUT_DISPATCH_QUANTUM: variable({
      doc: "Tasks one tenant may have released per dispatcher round (within its in-flight window), so every tenant's tasks reach the queue each round.",
      expected: 'a whole number from 1 to 10000',
      default: '50',
      schema: wholeNumber(1, 10_000),
    }),
    CLEARCUT_DISPATCH_INTERVAL: variable({
      doc: 'How often an idle dispatcher and outbox relay look for work (admissions wake them at once).',
      expected: 'a duration such as 100ms or 1s',
      default: '200ms',
      schema: duration(1),
    }),
    CLEARCUT_PUBLISH_LEASE: variable({
      doc: 'How long a gateway may take to publish the tasks and result events it claimed; after a crash, another gateway publishes them again once this has passed.',
      expected: 'a duration such as 30s',
      default: '30s',
      schema: duration(100),
    }),
    CLEARCUT_GATEWAY_HTTP_PORT: variable({
      doc: 'Port of the gateway /healthz, /readyz and /metrics HTTP server; 0 picks a free port.',
      expected: 'a port number from 0 to 65535',
      default: '9465',
      schema: wholeNumber(0, 65_535),
    }),
    CLEARCUT_EVENTS_HTTP_PORT: variable({
      doc: 'Port of the /healthz, /readyz and /metrics HTTP server of a standalone `clearcut events`; 0 picks a free port. (Inside the gateway the event consumer reports on the gateway port.)',
      expected: 'a port number from 0 to 65535',
      default: '9466',
      schema: wholeNumber(0, 65_535),
    }),
    CLEARCUT_GATEWAY_UNVERIFIED_AUDIT_LIMIT: variable({
      doc: 'Unverified job messages (unreadable headers, unknown key, bad signature) a gateway audits one by one per minute; beyond it they are counted into one audit row per reason and batch, and get no `rejected` event.',
      expected: 'a whole number from 0 to 1000000',
      default: '100',
      schema: wholeNumber(0, 1_000_000),
    }),
    CLEARCUT_GATEWAY_EVENTS: variable({
      doc: 'Whether the gateway process also runs the S3 event consumer (events queue → trigger rules → jobs, see docs/events.md); set false when `clearcut events` runs apart.',
      expected: 'true or false',
      default: 'true',
      schema: flag(),
    }),
  },
  (v) => ({
    masterKey: v.CLEARCUT_MASTER_KEY,
    timestampWindowMs: v.CLEARCUT_TIMESTAMP_WINDOW,
    maxBodyBytes: v.CLEARCUT_MAX_BODY_BYTES,
    prefetch: v.CLEARCUT_GATEWAY_PREFETCH,
    batchSize: v.CLEARCUT_GATEWAY_BATCH_SIZE,
    batchWindowMs: v.CLEARCUT_GATEWAY_BATCH_WINDOW,
    batchesInFlight: v.CLEARCUT_GATEWAY_BATCHES_IN_FLIGHT,
    keyCacheTtlMs: v.CLEARCUT_KEY_CACHE_TTL,
    dispatchQuantum: v.CLEARCUT_DISPATCH_QUANTUM,
    dispatchIntervalMs: v.CLEARCUT_DISPATCH_INTERVAL,
    publishLeaseMs: v.CLEARCUT_PUBLISH_LEASE,
    httpPort: v.CLEARCUT_GATEWAY_HTTP_PORT,
    eventsHttpPort: v.CLEARCUT_EVENTS_HTTP_PORT,
    events: v.CLEARCUT_GATEWAY_EVENTS,
    unverifiedAuditPerMinute: v.CLEARCUT_GATEWAY_UNVERIFIED_AUDIT_LIMIT,
  }),
);
