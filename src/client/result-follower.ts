import type { Channel, ConsumeMessage } from 'amqplib';
import { tenantIdPattern } from '../contracts/identifiers.js';
import { type ResultEvent, resultEventSchema } from '../contracts/result-event.js';
import { jobResultsBindingKey } from '../queue/topology.js';

// Follows the result events of one job of one tenant: an exclusive, auto-delete, server-named queue
// bound to the results topic exchange with `<tenant>.<job id>.#`, so another tenant's events (a
// job id is unique only within its tenant) never arrive. Bind BEFORE publishing the job, or the
// `accepted` event may be missed.

export interface ResultFollower extends AsyncIterable<ResultEvent> {
  /** Deletes the queue; a pending iteration ends. */
  close(): Promise<void>;
}

export interface FollowOptions {
  /** The tenant the signing key belongs to (`clearcut keys list` shows it). */
  readonly tenant: string;
  /** Called for a message on the exchange that is not a valid result event (it is skipped). */
  readonly onInvalid?: (problem: string) => void;
}

type Waiter = { resolve: (result: IteratorResult<ResultEvent>) => void; reject: (error: Error) => void };

export async function followJobResults(
  channel: Channel,
  resultsExchange: string,
  tenant: string,
  jobId: string,
  options: Omit<FollowOptions, 'tenant'> = {},
): Promise<ResultFollower> {
  if (!tenantIdPattern.test(tenant)) {
    throw new Error(`tenant "${tenant}" is not a tenant id (a lowercase letter, then a-z 0-9 -)`);
  }
  const buffered: ResultEvent[] = [];
  const waiters: Waiter[] = [];
  let ended: { error?: Error } | undefined;

  const finish = (error?: Error) => {
    if (ended) return;
    ended = error ? { error } : {};
    for (const waiter of waiters.splice(0)) {
      if (error) waiter.reject(error);
      else waiter.resolve({ done: true, value: undefined });
    }
  };
  const deliver = (message: ConsumeMessage | null) => {
    if (message === null) return finish(new Error('the broker cancelled the result consumer'));
    const event = parseEvent(message.content);
    if (typeof event === 'string') return options.onInvalid?.(event);
    // A routing key says nothing about the body: a copy routed here by anything else is not ours.
    if (event.tenant !== tenant || event.jobId !== jobId) {
      return options.onInvalid?.(`an event of ${event.tenant}/${event.jobId} arrived for ${tenant}/${jobId}`);
    }
    const waiter = waiters.shift();
    if (waiter) waiter.resolve({ done: false, value: event });
    else buffered.push(event);
  };

  channel.on('error', () => {}); // 'close' follows
  channel.on('close', () =>
    finish(ended ? undefined : new Error('the result channel closed (connection lost?)')),
  );
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  await channel.bindQueue(queue, resultsExchange, jobResultsBindingKey(tenant, jobId));
  await channel.consume(queue, deliver, { noAck: true });

  return {
    [Symbol.asyncIterator]() {
      return {
        next: () => {
          const event = buffered.shift();
          if (event) return Promise.resolve({ done: false, value: event });
          if (ended) {
            return ended.error
              ? Promise.reject(ended.error)
              : Promise.resolve({ done: true, value: undefined });
          }
          return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
        },
        return: async () => {
          finish();
          await channel.close().catch(() => {});
          return { done: true, value: undefined };
        },
      };
    },
    async close() {
      finish();
      await channel.close().catch(() => {});
    },
  };
}

function parseEvent(content: Buffer): ResultEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return 'a result message is not JSON';
  }
  const parsed = resultEventSchema.safeParse(value);
  return parsed.success
    ? parsed.data
    : `a result message does not match the result event schema: ${parsed.error.message}`;
}
