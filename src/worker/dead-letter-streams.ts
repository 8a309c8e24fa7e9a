// Dead letters of the jobs and events streams: messages the broker moved to `<prefix>.jobs.dead` or
// `<prefix>.events.dead` after they reached the inbox's delivery limit (their consumer crashed on
// them, or lost its connection, every time). They are kept exactly as published, so a replay
// republishes the same body and properties to the stream's exchange (a signed job still verifies).
import type { OutboundMessage } from '../queue/bus.js';

/** The newest `x-death` entry the broker added, read defensively (a producer can forge headers). */
export interface Death {
  readonly reason: string;
  readonly count: number;
  readonly queue: string;
  readonly routingKeys: readonly string[];
  readonly at: string;
}

const headerObject = (headers: unknown): Record<string, unknown> =>
  typeof headers === 'object' && headers !== null ? (headers as Record<string, unknown>) : {};

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;

/** amqplib reads an AMQP timestamp as seconds since the epoch. */
function timeText(value: unknown): string {
  const seconds =
    typeof value === 'number' ? value : Number((value as { value?: unknown } | undefined)?.value);
  return Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : '';
}

export function lastDeath(headers: unknown): Death | undefined {
  const deaths = headerObject(headers)['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const death = headerObject(deaths[0]);
  const count = Number(death.count);
  const keys = death['routing-keys'];
  return {
    reason: text(death.reason) ?? 'unknown',
    count: Number.isInteger(count) && count > 0 ? count : 1,
    queue: text(death.queue) ?? '',
    routingKeys: Array.isArray(keys) ? keys.flatMap((key) => text(key) ?? []) : [],
    at: timeText(death.time),
  };
}

export interface StreamDeadLetter {
  readonly messageId: string | undefined;
  /** The job's `cc-key-id` header, if any: who sent it. */
  readonly keyId: string | undefined;
  readonly bytes: number;
  /** `delivery_limit` when its consumers kept crashing on it. */
  readonly reason: string;
  readonly deadAt: string;
}

export function describeStreamDeadLetter(message: {
  readonly body: Buffer;
  readonly messageId: unknown;
  readonly headers: unknown;
}): StreamDeadLetter {
  const death = lastDeath(message.headers);
  return {
    messageId: text(message.messageId),
    keyId: text(headerObject(message.headers)['cc-key-id'])?.slice(0, 200),
    bytes: message.body.length,
    reason: death?.reason ?? 'unknown',
    deadAt: death?.at ?? '',
  };
}

/** What the broker adds when it dead-letters; the replayed copy starts without a history. */
const brokerHeaders = /^x-(?:death|delivery-count|first-death-|last-death-)/;

/** The message as first published, addressed to `exchange` again. */
export function replayedMessage(
  exchange: string,
  message: {
    readonly body: Buffer;
    readonly messageId: unknown;
    readonly contentType: unknown;
    readonly headers: unknown;
  },
): OutboundMessage {
  const headers = Object.fromEntries(
    Object.entries(headerObject(message.headers)).filter(([name]) => !brokerHeaders.test(name)),
  );
  const messageId = text(message.messageId);
  const contentType = text(message.contentType);
  return {
    exchange,
    routingKey: '',
    body: message.body,
    headers,
    ...(messageId === undefined ? {} : { messageId }),
    ...(contentType === undefined ? {} : { contentType }),
  };
}
