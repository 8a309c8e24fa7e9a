// The inference worker process, wired from configuration: database, broker topology, a consumer
// per task lane, the engine pool, and the ops server. The per-task logic is in task-handler.ts.
// It serves the models of CLEARCUT_MODELS only, and consumes tasks once all of them are loaded.
import sharp from 'sharp';
import type { Config } from '../config.js';
import { requireSchemaCurrent } from '../db/schema-check.js';
import { taskRows } from '../jobs/task-rows.js';
import type { Logger } from '../log.js';
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
import { createImageGate } from './image-gate.js';
import { mallocWarning, runsOnGlibc } from './malloc-settings.js';
import { visibleMemoryLimit } from './memory-limit.js';
import { memoryRefusal } from './memory-need.js';
import { createWorkerMetrics } from './metrics.js';
import { outputClaims } from './output-claims.js';
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
  // libvips' operation cache keeps recent results for reuse; a worker never sees an image twice,
  // so it only holds memory (IS-Net run of three photos: 967 vs 985 MiB peak without it).
  // sharp's concurrency stays at its glibc default of one thread per operation.
  sharp.cache(false);
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
    // Refuses to start without weights (or with a synthetic stand-in not allowed): said once, here.
    const synthetic = await engines.checkWeights();
    // Before any model is loaded: a limit below the models' measured need would end in an OOM kill.
    const refusal = memoryRefusal(await visibleMemoryLimit(config.worker.memoryLimit), engines.served);
    if (refusal) throw new Error(refusal);
    if (synthetic.length > 0)
      log.warn({ models: synthetic }, 'serving synthetic stand-ins: their masks are meaningless');
    const malloc = runsOnGlibc() ? mallocWarning(process.env) : undefined;
    if (malloc) log.warn({ unset: malloc.unset }, malloc.message);
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
      tasks: taskRows(db),
      publisher,
      topology,
      processor: {
        store,
        grantsOf: (tenantId) => loadGrants(db, tenantId),
        engineFor: (model) => engines.engineFor(model),
        limits: config.inference,
        // One image in the model, one downloaded and decoded ahead of it.
        imageGate: createImageGate(2),
        claimOutputs: outputClaims(db),
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
    let stopping: Promise<void> | undefined;
    const consume = async () => {
      for (const [lane, queue] of lanes) {
        if (stopping) return;
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
      log.info({ queues: lanes.map(([, queue]) => queue), models: engines.served }, 'consuming tasks');
    };
    // Every served model is loaded before the first task is taken, so no task waits on a load.
    // /readyz names each model until it is loaded and never waits for one; a probe after a failed
    // load starts another attempt.
    let consuming: Promise<void> | undefined;
    const loadThenConsume = () => {
      if (!consuming) {
        const attempt = Promise.all(engines.served.map((model) => engines.load(model))).then(consume);
        consuming = attempt;
        attempt.catch((error: unknown) => {
          if (consuming === attempt) consuming = undefined;
          log.error({ err: error, models: engines.served }, 'loading models failed; /readyz retries');
        });
      }
      return consuming;
    };
    loadThenConsume();
    const ready = (loaded: () => boolean) => async () => {
      if (!stopping) loadThenConsume();
      return loaded();
    };
    const modelChecks = Object.fromEntries(
      engines.served.map((model) => [`model ${model}`, ready(() => engines.isLoaded(model))]),
    );
    const ops = await startOpsServer({
      port: config.worker.httpPort,
      registry,
      readiness: {
        ...dependencyChecks(bus, db),
        ...modelChecks,
        consuming: ready(() => subscriptions.length === lanes.length),
      },
    });
    cleanups.add(() => ops.close());
    log.info({ httpPort: ops.port, models: engines.served }, 'worker started');

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
      await consuming?.catch(() => undefined);
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
