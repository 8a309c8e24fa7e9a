// The dead-letter queue's message format, shared by the worker (writes) and `clearcut dlq` (reads).
// The body is the task exactly as it arrived; what went wrong travels in headers.
import { itemErrorMessageMax } from '../contracts/item-errors.js';
import type { OutboundMessage } from '../queue/bus.js';
import type { TaskLane } from '../queue/topology.js';
import { lastDeath } from './dead-letter-streams.js';

export const deadLetterHeaders = {
  code: 'x-clearcut-error-code',
  message: 'x-clearcut-error-message',
  attempts: 'x-clearcut-attempts',
  lane: 'x-clearcut-lane',
  at: 'x-clearcut-dead-at',
} as const;

export interface DeadLetter {
  readonly lane: TaskLane;
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
  readonly at: string;
}

export function deadLetterMessage(
  route: Pick<OutboundMessage, 'exchange' | 'routingKey'>,
  body: Buffer,
  messageId: string | undefined,
  letter: DeadLetter,
): OutboundMessage {
  return {
    ...route,
    body,
    ...(messageId === undefined ? {} : { messageId }),
    headers: {
      [deadLetterHeaders.code]: letter.code,
      [deadLetterHeaders.message]: letter.message.slice(0, itemErrorMessageMax),
      [deadLetterHeaders.attempts]: letter.attempts,
      [deadLetterHeaders.lane]: letter.lane,
      [deadLetterHeaders.at]: letter.at,
    },
  };
}

/**
 * Reads the headers back. A task the broker dead-lettered at the delivery limit (it crashed its
 * workers) has no ClearCut headers: its x-death entry gives the reason, lane and time. Anything
 * else missing (a message someone else put there) gets a neutral value.
 */
export function readDeadLetter(headers: unknown): DeadLetter {
  const death = lastDeath(headers);
  const h = (typeof headers === 'object' && headers !== null ? headers : {}) as Record<string, unknown>;
  const text = (name: string, fallback: string) => {
    const value = h[name];
    return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : fallback;
  };
  const attempts = Number(h[deadLetterHeaders.attempts]);
  const crashed = death?.reason === 'delivery_limit';
  const lane = text(deadLetterHeaders.lane, death?.routingKeys[0] ?? 'normal');
  return {
    lane: lane === 'priority' ? 'priority' : 'normal',
    code: text(deadLetterHeaders.code, death?.reason ?? 'unknown'),
    message: text(
      deadLetterHeaders.message,
      crashed ? 'delivered to workers until the delivery limit without an ack (it crashed them?)' : '',
    ),
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 0,
    at: text(deadLetterHeaders.at, death?.at ?? ''),
  };
}
