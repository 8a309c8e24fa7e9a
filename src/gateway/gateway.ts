import type { Registry } from 'prom-client';
import { createDatabaseClock } from '../admission/database-clock.js';
import { sweepNonces } from '../admission/nonces.js';
import { createRefusalBudget } from '../admission/refusals.js';
import { createExpander } from '../catalog/expander.js';
import type { Config } from '../config.js';
import { listenLasting } from '../db/lasting-listen.js';
import { requireSchemaCurrent } from '../db/schema-check.js';
import { admissionsChannel } from '../jobs/admission-notices.js';
import { createJobFinalizer } from '../jobs/job-finalizer.js';
import { createPollLoop } from '../jobs/poll-loop.js';
import { createPublishingLoops } from '../jobs/publishing.js';
import { taskOutbox } from '../jobs/task-queue.js';
import { createKeyStore } from '../keys/key-store.js';
import { requireMasterKey } from '../keys/secret-box.js';
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
import { createRetentionSweeper } from '../retention/retention-sweeper.js';
import { createS3BlobStore } from '../storage/s3-blob-store.js';
import { createAdmittedJobs } from './admitted-jobs.js';
import { createJobConsumer } from './job-consumer.js';
import { createGatewayMetrics } from './metrics.js';

export interface Gateway {
  /** Port of the /healthz, /readyz, /metrics server. */
  readonly httpPort: number;
  /** Drains: stops consuming, decides and acks what it holds, finishes the current rounds, closes. */
  stop(): Promise<void>;
}

export interface GatewayOptions {
  readonly log: Logger;
  /** The process's metrics registry, when others in the process (the event consumer) share it. */
  readonly registry?: Registry;
  /** The clock admission reads instead of the database's (tests move it instead of sleeping). */
  readonly now?: () => Date;
}

const nonceSweepIntervalMs = 30_000;
const minuteMs = 60_000;

/** Wires the gateway from configuration: database, key store, broker topology, consumer, dispatcher, relay. */
export async function startGateway(
  config: Config,
  { log, registry: shared, now }: GatewayOptions,
): Promise<Gateway> {
  const masterKey = requireMasterKey(config.gateway.masterKey);
  const names = topologyNames(config.broker.prefix);
  const db = openServiceDatabase(config.database, log);
  const cleanups = createCleanups(log, () => db.close());
  try {
    await requireSchemaCurrent(db);
    // Timestamps, nonces and key expiry are judged by the database's clock (database-clock.ts).
    const clock = await createDatabaseClock(db);
    const keys = await createKeyStore(db, masterKey, { cacheTtlMs: config.gateway.keyCacheTtlMs });
    cleanups.add(() => keys.close());
    const bus = await connectServiceBus(config.broker, 'clearcut gateway', gatewayTopology(names), log);
    cleanups.add(() => bus.close());
    const publisher = await bus.publisher();
    cleanups.add(() => publisher.close());

    const registry = shared ?? createMetricsRegistry('gateway');
    const metrics = createGatewayMetrics(registry);
    const idleMs = config.gateway.dispatchIntervalMs;
    const admittedJobs = createAdmittedJobs();
    const { dispatcher, relay, handOff } = createPublishingLoops({
      settings: config.gateway,
      db,
      publisher,
      names,
      log,
      outbox: admittedJobs.serving(taskOutbox(db)),
      onTasksPublished: (lane, count) => {
        metrics.tasksPublished.inc({ lane }, count);
        // A listing held back by its tenant's backlog may go on now (else it waits for its idle timer).
        expander.nudge();
      },
      onEventsPublished: (count) => metrics.eventsPublished.inc(count),
    });
    // Catalog jobs: listing prefix/manifest inputs into tasks, and the results manifest at the end.
    const store = createS3BlobStore(config.storage);
    cleanups.add(async () => store.close());
    const expander = createExpander({
      db,
      store,
      log,
      idleMs,
      leaseMs: config.gateway.publishLeaseMs,
      onPage: () => dispatcher.nudge(),
    });
    const finalizer = createJobFinalizer({
      db,
      store,
      log,
      idleMs,
      leaseMs: config.gateway.publishLeaseMs,
      onFinalized: () => relay.nudge(),
    });
    const sweeper = createPollLoop({
      name: 'nonce sweeper',
      idleMs: nonceSweepIntervalMs,
      log,
      step: async () => {
        await clock.sync();
        return sweepNonces(db, 5000);
      },
    });
    const consumer = createJobConsumer({
      bus,
      queue: names.jobsQueue,
      db,
      getKey: (keyId) => keys.get(keyId),
      settings: config.gateway,
      catalog: catalogFor(config),
      refusals: createRefusalBudget(config.gateway.unverifiedAuditPerMinute, minuteMs),
      log,
      metrics,
      now: now ?? clock.now,
      onJobsAdmitted: (jobs) => admittedJobs.remember(jobs),
      handOff,
      // Wakes the loops only for what the hand-off did not take (each wake-up costs a round trip or more).
      onCommitted: (decided, handedOff) => {
        let tasks = 0;
        let events = 0;
        for (const { decision } of decided) {
          if (decision.outcome === 'redelivered') continue;
          events++;
          if (decision.outcome !== 'accepted') continue;
          if (decision.job.items === null) expander.nudge();
          else tasks += decision.job.items;
        }
        if (tasks > handedOff.tasks) dispatcher.nudge();
        if (events > handedOff.events) relay.nudge();
      },
    });
    const ops = await startOpsServer({
      port: config.gateway.httpPort,
      registry,
      // A stored secret that no longer opens under the master key is an operator's problem.
      readiness: { ...dependencyChecks(bus, db), signingKeys: () => keys.secretsReadable() },
    });
    cleanups.add(() => ops.close());

    const retention = createRetentionSweeper({ db, log, retention: config.retention });
    for (const loop of [dispatcher, relay, sweeper, expander, finalizer, retention]) {
      loop.start();
      cleanups.add(() => loop.stop());
    }
    // Jobs the API admitted: their tasks and listings now, not at the next idle round.
    const admissions = await listenLasting(db, admissionsChannel, () => {
      dispatcher.nudge();
      expander.nudge();
    });
    cleanups.add(() => admissions.stop());
    // Stopped after the consumer (cleanups run in reverse), before the publisher closes.
    cleanups.add(() => handOff.settled());
    await consumer.start();
    cleanups.add(() => consumer.stop());
    log.info({ queue: names.jobsQueue, httpPort: ops.port }, 'gateway started');

    let stopping: Promise<void> | undefined;
    return {
      httpPort: ops.port,
      stop() {
        stopping ??= cleanups.run().then(() => log.info('gateway stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}
