import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import { abandonEvents, type ClaimedEvent, claimEvents, deleteEvents } from './outbox.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';

export interface OutboxRelayOptions {
  readonly db: Database;
  readonly publisher: Publisher;
  /** The results exchange. */
  readonly exchange: string;
  readonly batchSize: number;
  /** How long a claimed batch is ours; after that another relay publishes it again. */
  readonly leaseMs: number;
  readonly idleMs: number;
  readonly log: Logger;
  readonly onPublished?: (count: number) => void;
}

/** Publishes outbox events with confirms, then deletes them: at least once, in commit order per relay. */
export function createOutboxRelay(options: OutboxRelayOptions): PollLoop {
  return createPollLoop({
    name: 'outbox relay',
    idleMs: options.idleMs,
    log: options.log,
    async step() {
      const events = await claimEvents(options.db, options.batchSize, options.leaseMs);
      await publishEvents(events, options);
      return events.length;
    },
  });
}

/**
 * Publishes events leased to the caller with confirms, then deletes them; gives the leases back at
 * once when the broker refuses. A relay's claim, or the events admission leased to its gateway.
 */
export async function publishEvents(
  events: readonly ClaimedEvent[],
  options: Pick<OutboxRelayOptions, 'db' | 'publisher' | 'exchange' | 'onPublished'>,
): Promise<void> {
  if (events.length === 0) return;
  const ids = events.map((event) => event.id);
  try {
    await options.publisher.publish(
      events.map((event) => ({
        exchange: options.exchange,
        routingKey: event.routingKey,
        messageId: event.messageId,
        body: Buffer.from(event.body),
      })),
    );
  } catch (error) {
    await abandonEvents(options.db, ids).catch(() => {}); // else the lease runs out first
    throw error;
  }
  await deleteEvents(options.db, ids);
  options.onPublished?.(events.length);
}
