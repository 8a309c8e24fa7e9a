import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { progressLines } from '../../../src/cli/commands/status.js';
import { createProducer } from '../../../src/client/index.js';
import { type Config, type Environment, loadConfig } from '../../../src/config.js';
import { issueSignInLink } from '../../../src/dashboard/sign-in-link.js';
import type { Database } from '../../../src/db/database.js';
import { migrate } from '../../../src/db/migrate.js';
import { createDatabase } from '../../../src/db/postgres.js';
import { errorMessage } from '../../../src/errors.js';
import { findJobs, type JobProgress } from '../../../src/jobs/job-progress.js';
import { createKey } from '../../../src/keys/key-admin.js';
import { requireMasterKey } from '../../../src/keys/secret-box.js';
import { addGrant } from '../../../src/policy/grant-admin.js';
import { setQuota } from '../../../src/policy/quota-settings.js';
import { connectAmqpBus } from '../../../src/queue/amqp-bus.js';
import { createS3BlobStore } from '../../../src/storage/s3-blob-store.js';
import { createTenant } from '../../../src/tenants/tenants.js';
import { recommendedMalloc } from '../../../src/worker/malloc-settings.js';
import { startEmbeddedS3 } from '../embedded-s3/embedded-s3.js';
import { catalogImages } from './catalog-images.js';
import { type Child, freePort, startChild, waitUntilReady } from './children.js';
import { chooseDemoModel } from './demo-model.js';

// `npm run demo`: the whole pipeline on this machine, in a schema and broker prefix of its own
// (clearcut_demo), so it never touches a real deployment. Every step prints what it does.

export interface DemoOptions {
  /** Environment of the services (database and broker URLs); the demo adds its own names. */
  readonly env: Environment;
  /** Where the outputs are downloaded; replaced on each run. */
  readonly outputDir: string;
  readonly print: (line: string) => void;
  readonly images?: number;
  /** Schema and AMQP prefix; tests use their own. */
  readonly namespace?: string;
  /** Longest wait for the job to finish. */
  readonly timeoutMs?: number;
  /**
   * Keeps the services (and the dashboard) up after the job until it resolves; given the sign-in
   * link. Without it the demo stops everything once it has printed the link.
   */
  readonly serve?: (signInUrl: string) => Promise<void>;
}

export class DemoServicesError extends Error {}

const tenantId = 'demo';
const catalogBucket = 'demo-catalog';
const outputBucket = 'demo-cutouts';

/** Returns the process exit code: 0 when the job finished (failed items are shown, not fatal). */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { print } = options;
  const namespace = options.namespace ?? 'clearcut_demo';
  const base = loadConfig(options.env);
  await requireServices(base);

  print('• starting the embedded S3 endpoint (s3rver)');
  const s3 = await startEmbeddedS3();
  const ports = { gateway: await freePort(), worker: await freePort(), api: await freePort() };
  const env: Environment = {
    ...options.env,
    ...s3.env,
    CLEARCUT_DATABASE_SCHEMA: namespace,
    CLEARCUT_AMQP_PREFIX: namespace,
    CLEARCUT_MASTER_KEY: randomBytes(32).toString('base64'),
    CLEARCUT_GATEWAY_HTTP_PORT: String(ports.gateway),
    CLEARCUT_HTTP_PORT: String(ports.worker),
    CLEARCUT_API_PORT: String(ports.api),
    CLEARCUT_LOG_LEVEL: options.env.CLEARCUT_LOG_LEVEL ?? 'warn',
  };
  const config = loadConfig(env);
  const db = createDatabase(config.database);
  const store = createS3BlobStore(config.storage);
  const children: Child[] = [];
  try {
    print(`• preparing schema "${namespace}" (dropped and migrated again on every run)`);
    await db.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`);
    await migrate(db);
    const secret = await createDemoTenant(db, config.gateway.masterKey!);

    const model = await chooseDemoModel(config, print);
    print(`• uploading ${options.images ?? 12} generated product photos to s3://${catalogBucket}/products/`);
    await store.createBucket(catalogBucket);
    await store.createBucket(outputBucket);
    for (const image of await catalogImages(options.images ?? 12)) {
      await store.put(catalogBucket, `products/${image.name}`, image.body, { contentType: 'image/jpeg' });
    }

    print(
      '• starting a gateway, a worker and the HTTP API with the dashboard (workers/gateway.ts, workers/inference.ts, workers/api.ts)',
    );
    // Both serve the demo's model alone; the worker may run the stand-in only when the demo said so.
    const processEnv = {
      ...process.env,
      ...env,
      CLEARCUT_MODEL: model.name,
      CLEARCUT_MODELS: model.name,
      CLEARCUT_ALLOW_SYNTHETIC_MODELS: String(model.synthetic),
    } as NodeJS.ProcessEnv;
    children.push(startChild('gateway', 'workers/gateway.ts', processEnv));
    // The worker gets the image's glibc malloc settings (infra/Dockerfile), as a deployment would.
    const mallocEnv = Object.fromEntries(
      Object.entries(recommendedMalloc).map(([name, { value }]) => [name, process.env[name] || value]),
    );
    children.push(startChild('worker', 'workers/inference.ts', { ...processEnv, ...mallocEnv }));
    children.push(startChild('api', 'workers/api.ts', processEnv));
    await waitUntilReady(children[0]!, ports.gateway);
    await waitUntilReady(children[2]!, ports.api);
    await waitUntilReady(children[1]!, ports.worker, 180_000);

    const jobId = `demo-${randomUUID().slice(0, 8)}`;
    const producer = await createProducer({
      amqpUrl: config.broker.url,
      prefix: config.broker.prefix,
      keyId: secret.keyId,
      secret: secret.secret,
      connectionName: 'clearcut demo',
    });
    try {
      await producer.submit(
        {
          input: { bucket: catalogBucket, prefix: 'products/' },
          output: { bucket: outputBucket, prefix: 'cutouts/' },
          renditions: [
            { kind: 'cutout', format: 'png' },
            { kind: 'white', format: 'jpeg' },
          ],
          model: model.name,
          metadata: { source: 'npm run demo' },
        },
        { jobId },
      );
    } finally {
      await producer.close();
    }
    print(`• submitted one signed job ${jobId}: every object under s3://${catalogBucket}/products/`);
    const job = await followJob(db, jobId, options.timeoutMs ?? 600_000, print);
    if (!job) {
      print(
        `✗ the job did not finish in time; see \`clearcut status ${jobId}\` with CLEARCUT_DATABASE_SCHEMA=${namespace}`,
      );
      return 1;
    }
    await download(store, options.outputDir, job, print);
    await showDashboard(db, config, ports.api, options);
    return 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    store.close();
    await db.close();
    await s3.close();
  }
}

/** Prints a one-time dashboard sign-in link for the demo tenant, and serves it if asked to. */
async function showDashboard(db: Database, config: Config, port: number, options: DemoOptions) {
  const { url } = await issueSignInLink(db, config, {
    tenantId,
    admin: false,
    ttlMs: config.dashboard.linkTtlMs,
    port,
  });
  options.print(`• the dashboard shows this job, its items and the tenant's usage; sign in once with:`);
  options.print(`  ${url}`);
  if (options.serve === undefined) {
    options.print(
      '  (the demo has stopped its services, so the link only works while `npm run demo` runs in a terminal)',
    );
    return;
  }
  options.print('  the services keep running for the dashboard: press Ctrl-C to stop them');
  await options.serve(url);
}

async function requireServices(config: Config) {
  const databaseUrl = withoutPassword(config.database.url);
  const amqpUrl = withoutPassword(config.broker.url);
  // Connect with the configured URLs; messages show them without password.
  const db = createDatabase(config.database);
  try {
    await db.query('SELECT 1');
  } catch (error) {
    throw new DemoServicesError(
      `PostgreSQL is not reachable at ${databaseUrl} (${errorMessage(error)}).\n` +
        'Start it (on this machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start),\n' +
        'or run the services in containers: docker compose -f infra/compose.yaml up -d postgres rabbitmq,\n' +
        'or point CLEARCUT_DATABASE_URL at another server.',
    );
  } finally {
    await db.close();
  }
  try {
    const bus = await connectAmqpBus(config.broker.url, {
      connectionName: 'clearcut demo check',
      onConnectionLost: () => {},
    });
    await bus.close();
  } catch (error) {
    throw new DemoServicesError(
      `RabbitMQ is not reachable at ${amqpUrl} (${errorMessage(error)}).\n` +
        'Start it (on this machine: rabbitmq-server -detached),\n' +
        'or run the services in containers: docker compose -f infra/compose.yaml up -d postgres rabbitmq,\n' +
        'or point CLEARCUT_AMQP_URL at another broker.',
    );
  }
}

async function createDemoTenant(db: Database, masterKeyText: string) {
  await createTenant(db, tenantId, 'pro');
  await setQuota(db, tenantId, { imagesPerDay: null, imagesPerHour: null, imagesPerMonth: null });
  await addGrant(db, tenantId, { bucket: catalogBucket, prefix: 'products/', access: 'read' });
  await addGrant(db, tenantId, { bucket: outputBucket, prefix: 'cutouts/', access: 'write' });
  const created = await createKey(db, requireMasterKey(masterKeyText), {
    tenantId,
    algorithm: 'hmac-sha256',
    environment: 'test',
    expiresAt: null,
  });
  return { keyId: created.key.keyId, secret: created.shownOnce };
}

async function followJob(db: Database, jobId: string, timeoutMs: number, print: (line: string) => void) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const [job] = await findJobs(db, jobId, tenantId);
    if (job) {
      const [, bar = '', counts = ''] = progressLines(job);
      const line =
        job.total === null
          ? `listing the input: ${job.listed} items so far`
          : `${bar.trim()}  (${counts.trim()})`;
      if (line !== last) print(`  ${line}`);
      last = line;
      if (job.finalized) return job;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return undefined;
}

async function download(
  store: ReturnType<typeof createS3BlobStore>,
  outputDir: string,
  job: JobProgress,
  print: (line: string) => void,
) {
  await rm(outputDir, { recursive: true, force: true });
  let files = 0;
  for await (const blob of store.list(outputBucket, 'cutouts/')) {
    const { body } = await store.get(outputBucket, blob.key, { maxBytes: 64 * 1024 * 1024 });
    const path = join(outputDir, blob.key.slice('cutouts/'.length));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    files += 1;
  }
  const shown = relative(process.cwd(), outputDir) || '.';
  print(`✓ job ${job.jobId} finished: ${job.succeeded} succeeded, ${job.failed} failed of ${job.total}`);
  print(`  results manifest: s3://${job.manifest?.bucket}/${job.manifest?.key} → ${shown}/_clearcut/`);
  print(`  ${files} files downloaded to ${shown}/`);
  print(
    `  look at them: ls ${shown}/products/  and open ${shown}/products/product-01.cutout.png (transparent)`,
  );
  print(`               or ${shown}/products/product-01.white.jpg (on white)`);
}

/** Messages name the server, never its password. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(the configured URL)';
  }
}
