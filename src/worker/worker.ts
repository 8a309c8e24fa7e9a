// The inference worker process, wired from configuration: database, broker topology, a consumer
// per task lane, the engine pool, and the ops server. The per-task logic is in task-handler.ts.
import type { Config } from '../config.js';
import { requireSchemaCurrent } from '../db/schema-check.js';
import type { Logger } from '../log.js';
import { modelNames } from '../models/registry.js';
import { startOpsServer } from '../ops/http-server.js';
import { createMetricsRegistry } from '../ops/metrics.js';
import {
  connectServiceBus,
  createCleanups,
  dependencyChecks,
  openServiceDatabase,
} from '../ops/service-parts.js';
import { loadGrants } from '../policy/grants.js';
import type { Subscription } from '../queue/bus.js';
import { gatewayTopology, type TaskLane, topologyNames } from '../queue/topology.js';
import { workerTopology } from '../queue/worker-topology.js';
import type { BlobStore } from '../storage/blob-store.js';
import { createS3BlobStore } from '../storage/s3-blob-store.js';
import { createEnginePool } from './engines.js';
import { createWorkerMetrics } from './metrics.js';
import { handleDelivery, type TaskHandlerDeps } from './task-handler.js';

/** After the drain timeout, how long aborted tasks get to hand themselves back. */
const abortGraceMs = 5000;

export interface Worker {
  readonly httpPort: number;
  /** Drains: stops consuming, waits (bounded) for in-flight tasks, hands the rest back, closes. */
  stop(): Promise<void>;
}

export interface WorkerOptions {
  readonly log: Logger;
  /** Storage to use instead of the configured S3 endpoint (closed by the worker either way). */
  readonly store?: BlobStore;
  readonly onJobCompleted?: TaskHandlerDeps['onJobCompleted'];
}

export async function startWorker(config: Config, options: WorkerOptions): Promise<Worker> {
  const { log } = options;
  const names = topologyNames(config.broker.prefix);
  const topology = workerTopology(names, config.worker.retryDelaysMs);
  const db = openServiceDatabase(config.database, log);
  const store = options.store ?? createS3BlobStore(config.storage);
  const registry = createMetricsRegistry('worker');
  const metrics = createWorkerMetrics(registry);
  const engines = createEnginePool(config, (model, seconds) => {
    metrics.modelLoadSeconds.set({ model }, seconds);
    log.info({ model, seconds }, 'model loaded');
  });
  const cleanups = createCleanups(
    log,
    () => db.close(),
    async () => store.close(),
    () => engines.close(),
  );
  try {
    await requireSchemaCurrent(db);
    const preload = config.worker.preload ?? [config.models.defaultModel];
    const unknown = preload.filter((model) => !modelNames().includes(model));
    if (unknown.length > 0) {
      throw new Error(
        `CLEARCUT_WORKER_PRELOAD names unknown models (${unknown.join(', ')}); known: ${modelNames().join(', ')}`,
      );
    }
    // Loading starts now; /readyz waits for it (and tries again if a load failed).
    const modelsLoaded = async () => {
      await Promise.all(preload.map((model) => engines.engineFor(model)));
      return true;
    };
    modelsLoaded().catch((error: unknown) =>
      log.error({ err: error, models: preload }, 'preloading models failed; /readyz retries'),
    );
    // Either process may start first: both declare what they use (idempotent), again after every
    // reconnect. A broker restart is ridden out: tasks held then are redelivered and end once.
    const bus = await connectServiceBus(
      config.broker,
      'clearcut worker',
      {
        exchanges: gatewayTopology(names).exchanges,
        queues: [...gatewayTopology(names).queues, ...topology.queues],
      },
      log,
    );
    cleanups.add(() => bus.close());
    const publisher = await bus.publisher();
    cleanups.add(() => publisher.close());

    const deps: TaskHandlerDeps = {
      db,
      publisher,
      topology,
      processor: {
        store,
        grantsOf: (tenantId) => loadGrants(db, tenantId),
        engineFor: (model) => engines.engineFor(model),
        limits: config.inference,
      },
      maxAttempts: config.worker.maxAttempts,
      metrics,
      log,
      ...(options.onJobCompleted === undefined ? {} : { onJobCompleted: options.onJobCompleted }),
    };
    const inFlight = new Set<Promise<void>>();
    const abort = new AbortController();
    const subscriptions: Subscription[] = [];
    const lanes: [TaskLane, string][] = [
      ['priority', names.priorityTasksQueue],
      ['normal', names.tasksQueue],
    ];
    for (const [lane, queue] of lanes) {
      const subscription: Subscription = await bus.consume(
        queue,
        { prefetch: config.worker.prefetch },
        (delivery) => {
          metrics.inFlight.inc();
          const settle = {
            ack: () => subscription.ack(delivery),
            requeue: () => subscription.requeue(delivery),
          };
          const work = handleDelivery(delivery, lane, settle, deps, abort.signal).finally(() => {
            metrics.inFlight.dec();
            inFlight.delete(work);
          });
          inFlight.add(work);
        },
      );
      subscriptions.push(subscription);
    }
    const ops = await startOpsServer({
      port: config.worker.httpPort,
      registry,
      readiness: { ...dependencyChecks(bus, db), models: modelsLoaded },
    });
    cleanups.add(() => ops.close());
    log.info({ queues: lanes.map(([, queue]) => queue), httpPort: ops.port }, 'worker started');

    const settled = async (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      });
      const done = await Promise.race([Promise.allSettled([...inFlight]).then(() => true), timeout]);
      clearTimeout(timer);
      return done;
    };
    const drain = async () => {
      for (const subscription of subscriptions) await subscription.cancel();
      if (!(await settled(config.worker.drainTimeoutMs))) {
        log.warn({ left: inFlight.size }, 'drain timed out; handing the rest back to the queue');
        // Aborted S3 requests end their tasks quickly, which requeue themselves; an inference
        // already running is waited for only briefly.
        abort.abort();
        await settled(abortGraceMs);
      }
      // Closing the channels returns every unacked delivery to its queue.
      for (const subscription of subscriptions) await subscription.close();
    };
    let stopping: Promise<void> | undefined;
    return {
      httpPort: ops.port,
      stop() {
        stopping ??= drain()
          .then(cleanups.run)
          .then(() => log.info('worker stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}
