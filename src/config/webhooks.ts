import { section, variable } from './define.js';
import { byteSize, duration, durationList, flag, wholeNumber } from './parsers.js';

// Signed webhooks (docs/webhooks.md): where they may go, how they are sent and retried, and when
// an endpoint that keeps failing is disabled. The delivery loop runs inside `clearcut api`.

export const webhooksSection = section(
  {
    CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: variable({
      doc: 'Lets webhooks go to loopback, private (RFC 1918, ULA), link-local and CGNAT addresses. For tests and on-premises receivers only: with it, any tenant can make the API process send requests into your internal network. Cloud metadata, multicast and unspecified addresses stay refused.',
      expected: 'true or false',
      default: 'false',
      schema: flag(),
    }),
    CLEARCUT_WEBHOOKS_ALLOW_HTTP: variable({
      doc: 'Accepts http:// webhook URLs (payloads and signatures then cross the network unencrypted); by default only https:// is accepted.',
      expected: 'true or false',
      default: 'false',
      schema: flag(),
    }),
    CLEARCUT_WEBHOOKS_RETRY_DELAYS: variable({
      doc: 'Wait before each retry of a webhook delivery that failed (not 2xx, no answer in time, refused address); after the last one the delivery has failed for good. The first attempt is immediate.',
      expected: 'up to 20 comma-separated durations of at least 10ms, such as 5s,5m,30m,2h',
      default: '5s,5m,30m,2h,5h,10h,10h',
      schema: durationList(),
    }),
    CLEARCUT_WEBHOOKS_CONNECT_TIMEOUT: variable({
      doc: 'Longest wait for the TCP (and TLS) connection to a webhook receiver.',
      expected: 'a duration from 100ms, such as 5s',
      default: '5s',
      schema: duration(100),
    }),
    CLEARCUT_WEBHOOKS_TIMEOUT: variable({
      doc: 'Longest a whole webhook attempt may take, DNS lookup, connection, request and answer included; later is a failed attempt.',
      expected: 'a duration from 100ms to 5m, such as 15s',
      default: '15s',
      schema: duration(100).refine((ms) => ms <= 300_000),
    }),
    CLEARCUT_WEBHOOKS_MAX_RESPONSE_BYTES: variable({
      doc: "Most bytes of a receiver's answer read; the rest is cut off (the status code still decides) and the delivery log says so.",
      expected: 'a byte size from 1 to 1MiB, such as 64KiB',
      default: '64KiB',
      schema: byteSize(1).refine((bytes) => bytes <= 1024 * 1024),
    }),
    CLEARCUT_WEBHOOKS_DISABLE_AFTER_EVENTS: variable({
      doc: 'An endpoint is disabled when this many events in a row used up all their attempts (`clearcut webhooks enable ID` turns it on again).',
      expected: 'a whole number from 1 to 1000',
      default: '5',
      schema: wholeNumber(1, 1000),
    }),
    CLEARCUT_WEBHOOKS_DISABLE_AFTER: variable({
      doc: 'An endpoint is also disabled when every attempt to it has failed for this long (no success in between).',
      expected: 'a duration such as 5d or 48h',
      default: '5d',
      schema: duration(1000),
    }),
    CLEARCUT_WEBHOOKS_ROTATION_GRACE: variable({
      doc: 'After `clearcut webhooks rotate-secret`, how long deliveries are signed with the old secret as well as the new one, so receivers can switch over.',
      expected: 'a duration such as 24h, or 0s to stop signing with the old secret at once',
      default: '24h',
      schema: duration(0),
    }),
    CLEARCUT_WEBHOOKS_CONCURRENCY: variable({
      doc: 'Webhook deliveries one API process sends at once.',
      expected: 'a whole number from 1 to 200',
      default: '16',
      schema: wholeNumber(1, 200),
    }),
    CLEARCUT_WEBHOOKS_POLL_INTERVAL: variable({
      doc: 'How often an idle delivery loop looks for due webhook deliveries.',
      expected: 'a duration from 10ms, such as 1s',
      default: '1s',
      schema: duration(10),
    }),
  },
  (v) => ({
    allowPrivateAddresses: v.CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES,
    allowHttp: v.CLEARCUT_WEBHOOKS_ALLOW_HTTP,
    retryDelaysMs: v.CLEARCUT_WEBHOOKS_RETRY_DELAYS,
    connectTimeoutMs: v.CLEARCUT_WEBHOOKS_CONNECT_TIMEOUT,
    timeoutMs: v.CLEARCUT_WEBHOOKS_TIMEOUT,
    maxResponseBytes: v.CLEARCUT_WEBHOOKS_MAX_RESPONSE_BYTES,
    disableAfterEvents: v.CLEARCUT_WEBHOOKS_DISABLE_AFTER_EVENTS,
    disableAfterMs: v.CLEARCUT_WEBHOOKS_DISABLE_AFTER,
    rotationGraceMs: v.CLEARCUT_WEBHOOKS_ROTATION_GRACE,
    concurrency: v.CLEARCUT_WEBHOOKS_CONCURRENCY,
    pollIntervalMs: v.CLEARCUT_WEBHOOKS_POLL_INTERVAL,
  }),
);

export type WebhooksConfig = ReturnType<typeof webhooksSection.build>;
