import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { requireSchemaCurrent } from '../db/schema-check.js';
import type { PollLoop } from '../jobs/poll-loop.js';
import { createPublishingLoops } from '../jobs/publishing.js';
import type { Logger } from '../log.js';
import { catalogFor } from '../models/catalog.js';
import { startOpsServer } from '../ops/http-server.js';
import { createMetricsRegistry } from '../ops/metrics.js';
import {
  connectServiceBus,
  createCleanups,
  dependencyChecks,
  openServiceDatabase,
} from '../ops/service-parts.js';
import { gatewayTopology, topologyNames } from '../queue/topology.js';
import { countOutcomes, createEventConsumer } from './consumer.js';
import { createEventDispatchMetrics, createEventMetrics } from './metrics.js';

export interface EventService {
  /** Port of its own /healthz, /readyz, /metrics server; undefined when its owner serves them. */
  readonly httpPort: number | undefined;
  /** Drains: stops consuming, decides and acks what it holds, then closes its connections. */
  stop(): Promise<void>;
}

export interface EventServiceOptions {
  readonly log: Logger;
  /**
   * Also release the tasks and publish the result events it creates. A standalone
   * `clearcut events` needs this; inside a gateway process the gateway's own loops do it.
   */
  readonly dispatch: boolean;
  /**
   * Where its metrics go. `{ registry }`: registered there, for the owner's ops server to serve
   * (the gateway's). `{ port }`: a registry of its own (role `events`), served with /healthz and
   * /readyz on that port (0 picks a free one), as `clearcut events` does.
   */
  readonly ops: { readonly registry: Registry } | { readonly port: number };
}

/** Wires the S3 event consumer from configuration: its own database pool and broker connection. */
export async function startEventService(config: Config, options: EventServiceOptions): Promise<EventService> {
  const { log } = options;
  const names = topologyNames(config.broker.prefix);
  const db = openServiceDatabase(config.database, log);
  const cleanups = createCleanups(log, () => db.close());
  try {
    await requireSchemaCurrent(db);
    const bus = await connectServiceBus(config.broker, 'clearcut events', gatewayTopology(names), log);
    cleanups.add(() => bus.close());

    const registry = 'registry' in options.ops ? options.ops.registry : createMetricsRegistry('events');
    const metrics = createEventMetrics(registry);
    const loops: PollLoop[] = [];
    if (options.dispatch) {
      const publisher = await bus.publisher();
      cleanups.add(() => publisher.close());
      const published = createEventDispatchMetrics(registry);
      const { dispatcher, relay } = createPublishingLoops({
        settings: config.gateway,
        db,
        publisher,
        names,
        log,
        onTasksPublished: (lane, count) => published.tasksPublished.inc({ lane }, count),
        onEventsPublished: (count) => published.resultEventsPublished.inc(count),
      });
      loops.push(dispatcher, relay);
    }
    const consumer = createEventConsumer({
      bus,
      queue: names.eventsQueue,
      db,
      settings: {
        prefetch: config.gateway.prefetch,
        prefetchBytes: config.gateway.prefetchBytes,
        maxMessageBytes: config.gateway.maxMessageBytes,
        batchSize: config.gateway.batchSize,
        batchWindowMs: config.gateway.batchWindowMs,
      },
      catalog: catalogFor(config),
      log,
      onCommitted: (decisions, malformed, seconds) => {
        metrics.batchSeconds.observe(seconds);
        if (decisions.length + malformed > 0) {
          const counts = countOutcomes(decisions, malformed);
          metrics.countOutcomes(counts);
          log.info({ events: counts }, 'S3 events decided');
        }
        if (decisions.some((d) => d.outcome === 'accepted')) for (const loop of loops) loop.nudge();
      },
    });
    // Alone it serves its own probes and metrics; inside the gateway, the gateway's server does.
    const ops =
      'port' in options.ops
        ? await startOpsServer({
            port: options.ops.port,
            registry,
            readiness: dependencyChecks(bus, db),
          })
        : undefined;
    if (ops) cleanups.add(() => ops.close());
    for (const loop of loops) {
      loop.start();
      cleanups.add(() => loop.stop());
    }
    await consumer.start();
    cleanups.add(() => consumer.stop());
    log.info(
      { queue: names.eventsQueue, dispatch: options.dispatch, httpPort: ops?.port },
      'S3 event consumer started',
    );
    let stopping: Promise<void> | undefined;
    return {
      httpPort: ops?.port,
      stop() {
        stopping ??= cleanups.run().then(() => log.info('S3 event consumer stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}
