import { createDatabaseClock } from '../admission/database-clock.js';
import { createRefusalBudget } from '../admission/refusals.js';
import type { Config } from '../config.js';
import { createDashboardDeps } from '../dashboard/wiring.js';
import { databaseAnswers } from '../db/database.js';
import { requireSchemaCurrent } from '../db/schema-check.js';
import { createPollLoop } from '../jobs/poll-loop.js';
import { createKeyStore } from '../keys/key-store.js';
import { requireMasterKey } from '../keys/secret-box.js';
import type { Logger } from '../log.js';
import { catalogFor } from '../models/catalog.js';
import { createMetricsRegistry } from '../ops/metrics.js';
import { createCleanups, openServiceDatabase } from '../ops/service-parts.js';
import { createS3BlobStore } from '../storage/s3-blob-store.js';
import { createWebhookDelivery } from '../webhooks/delivery.js';
import { createWebhookMetrics } from '../webhooks/metrics.js';
import { createAccessTokens } from './access-tokens.js';
import { tenantUsage } from './rate-limit-headers.js';
import type { RemoveSettings } from './remove-route.js';
import { buildApi } from './server.js';

export interface ApiService {
  readonly port: number;
  /** Stops accepting connections, lets requests in progress finish, closes the database. */
  stop(): Promise<void>;
}

const minuteMs = 60_000;
const clockSyncMs = 30_000;

/**
 * Wires `clearcut api`: the database (admission writes jobs and tasks there; the gateways'
 * dispatchers publish them), the key store, the database clock, and the Fastify server.
 */
export async function startApi(
  config: Config,
  { log, now }: { log: Logger; now?: () => Date },
): Promise<ApiService> {
  const masterKey = requireMasterKey(config.gateway.masterKey);
  const db = openServiceDatabase(config.database, log);
  const cleanups = createCleanups(log, () => db.close());
  try {
    await requireSchemaCurrent(db);
    const clock = await createDatabaseClock(db);
    const sync = setInterval(() => {
      clock.sync().catch((error: unknown) => log.warn({ err: error }, 'database clock not measured'));
    }, clockSyncMs);
    cleanups.add(async () => clearInterval(sync));
    const keys = await createKeyStore(db, masterKey, { cacheTtlMs: config.gateway.keyCacheTtlMs });
    cleanups.add(() => keys.close());
    const getKey = (keyId: string) => keys.get(keyId);
    const registry = createMetricsRegistry('api');
    const dashboard = createDashboardDeps(config, {
      db,
      masterKey,
      now: now ?? clock.now,
      usage: (tenantId, at) => tenantUsage(db, tenantId, at),
      log,
    });
    cleanups.add(dashboard.close);
    const app = buildApi({
      db,
      getKey,
      tokens: createAccessTokens({
        masterKey,
        issuer: config.api.issuer,
        ttlMs: config.api.tokenTtlMs,
        getKey,
      }),
      catalog: catalogFor(config),
      now: now ?? clock.now,
      windowMs: config.gateway.timestampWindowMs,
      maxBodyBytes: config.gateway.maxBodyBytes,
      requestTimeoutMs: config.api.requestTimeoutMs,
      batchSize: config.gateway.batchSize,
      batchesInFlight: config.gateway.batchesInFlight,
      issuer: config.api.issuer,
      refusals: createRefusalBudget(config.gateway.unverifiedAuditPerMinute, minuteMs),
      dashboard: dashboard.deps,
      remove: removeSettings(config, cleanups),
      masterKey,
      webhookPolicy: {
        allowHttp: config.webhooks.allowHttp,
        allowPrivate: config.webhooks.allowPrivateAddresses,
      },
      registry,
      readiness: {
        database: () => databaseAnswers(db),
        signingKeys: () => keys.secretsReadable(),
      },
      log,
    });
    await app.listen({ port: config.api.port, host: '0.0.0.0' });
    cleanups.add(() => app.close());
    // Webhooks go out from the API processes (docs/webhooks.md); several claim rows side by side.
    const delivery = createWebhookDelivery({
      db,
      masterKey,
      config: config.webhooks,
      log,
      metrics: createWebhookMetrics(registry),
      onSettled: () => webhooks.nudge(),
    });
    const webhooks = createPollLoop({
      name: 'webhook delivery',
      idleMs: config.webhooks.pollIntervalMs,
      log,
      step: () => delivery.step(),
    });
    webhooks.start();
    // Stop claiming, then let the attempts in flight end (each within CLEARCUT_WEBHOOKS_TIMEOUT).
    cleanups.add(async () => {
      await webhooks.stop();
      await delivery.drain();
    });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.api.port;
    log.info({ port }, 'api started');
    let stopping: Promise<void> | undefined;
    return {
      port,
      stop() {
        stopping ??= cleanups.run().then(() => log.info('api stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}

/** POST /v1/remove's S3 store and settings, when a staging bucket is set. */
function removeSettings(
  config: Config,
  cleanups: ReturnType<typeof createCleanups>,
): RemoveSettings | undefined {
  const { stagingBucket, stagingPrefix, waitMs, maxBodyBytes, concurrency } = config.api.remove;
  if (stagingBucket === undefined) return undefined;
  const store = createS3BlobStore(config.storage);
  cleanups.add(async () => store.close());
  const { maxInputBytes, maxInputPixels, decodeTimeoutMs } = config.inference;
  return {
    store,
    staging: { bucket: stagingBucket, prefix: stagingPrefix },
    waitMs,
    maxBodyBytes,
    concurrency,
    // The worker's limits; the upload can be no larger than the body that carries it.
    limits: { maxInputBytes: Math.min(maxInputBytes, maxBodyBytes), maxInputPixels, decodeTimeoutMs },
  };
}
