import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Publisher } from '../queue/bus.js';
import { abandonEvents, claimEvents, deleteEvents } from './outbox.js';
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
      if (events.length === 0) return 0;
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
      return events.length;
    },
  });
}
