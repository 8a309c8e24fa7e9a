import type { Config } from '../config.js';
import { createDatabase } from '../db/postgres.js';
import { listModels } from '../inference/registry.js';
import { createDispatcher } from '../jobs/dispatcher.js';
import { createOutboxRelay } from '../jobs/outbox-relay.js';
import type { PollLoop } from '../jobs/poll-loop.js';
import type { Logger } from '../log.js';
import { connectAmqpBus } from '../queue/amqp-bus.js';
import { declareTopology } from '../queue/amqp-topology.js';
import { gatewayTopology, topologyNames } from '../queue/topology.js';
import { countOutcomes, createEventConsumer } from './consumer.js';

export interface EventService {
  /** Drains: stops consuming, decides and acks what it holds, then closes its connections. */
  stop(): Promise<void>;
}

export interface EventServiceOptions {
  readonly log: Logger;
  /** The broker connection or consumer died; the owner stops the process (exit non-zero). */
  readonly onFatal: (error: Error) => void;
  /**
   * Also release the tasks and publish the result events it creates. A standalone
   * `clearcut events` needs this; inside a gateway process the gateway's own loops do it.
   */
  readonly dispatch: boolean;
}

/** Wires the S3 event consumer from configuration: its own database pool and broker connection. */
export async function startEventService(config: Config, options: EventServiceOptions): Promise<EventService> {
  const { log } = options;
  const names = topologyNames(config.broker.prefix);
  const db = createDatabase(config.database, (error) =>
    log.warn({ err: error }, 'idle database connection failed'),
  );
  const cleanups: (() => Promise<unknown>)[] = [() => db.close()];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const [migrated] = await db.query<{ ok: boolean }>(
      `SELECT to_regclass('triggers') IS NOT NULL AND to_regclass('processed_events') IS NOT NULL AS ok`,
    );
    if (!migrated?.ok) throw new Error('the database schema is not migrated: run `clearcut migrate` first');
    const bus = await connectAmqpBus(config.broker.url, {
      connectionName: 'clearcut events',
      onConnectionLost: options.onFatal,
    });
    cleanups.push(() => bus.close());
    const channel = await bus.channel();
    await declareTopology(channel, gatewayTopology(names));
    await channel.close();

    const loops: PollLoop[] = [];
    if (options.dispatch) {
      const publisher = await bus.publisher();
      cleanups.push(() => publisher.close());
      const common = {
        db,
        publisher,
        leaseMs: config.gateway.publishLeaseMs,
        idleMs: config.gateway.dispatchIntervalMs,
        log,
      };
      loops.push(
        createDispatcher({ ...common, names, quantum: config.gateway.dispatchQuantum, maxTenants: 100 }),
        createOutboxRelay({ ...common, exchange: names.resultsExchange, batchSize: 500 }),
      );
    }
    const consumer = createEventConsumer({
      bus,
      queue: names.eventsQueue,
      db,
      settings: {
        prefetch: config.gateway.prefetch,
        batchSize: config.gateway.batchSize,
        batchWindowMs: config.gateway.batchWindowMs,
        defaultModel: config.models.defaultModel,
        knownModels: new Set(listModels().map((model) => model.name)),
      },
      log,
      onCommitted: (decisions, malformed) => {
        if (decisions.length + malformed > 0)
          log.info({ events: countOutcomes(decisions, malformed) }, 'S3 events decided');
        if (decisions.some((d) => d.outcome === 'accepted')) for (const loop of loops) loop.nudge();
      },
      onLost: options.onFatal,
    });
    for (const loop of loops) {
      loop.start();
      cleanups.push(() => loop.stop());
    }
    await consumer.start();
    cleanups.push(() => consumer.stop());
    log.info({ queue: names.eventsQueue, dispatch: options.dispatch }, 'S3 event consumer started');
    let stopping: Promise<void> | undefined;
    return {
      stop() {
        stopping ??= cleanUp().then(() => log.info('S3 event consumer stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
