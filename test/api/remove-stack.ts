import type { ApiService } from '../../src/api/service.js';
import { startApi } from '../../src/api/service.js';
import { type Environment, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { type Gateway, startGateway } from '../../src/gateway/gateway.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { decodeSigningSecret } from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { startWorker, type Worker } from '../../src/worker/worker.js';
import { workerEnv } from '../e2e/pipeline-harness.js';
import { createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { syntheticModel } from '../support/models.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { accessToken, type TestKey } from './harness.js';

// The whole path of POST /v1/remove for one test file: PostgreSQL (own schema), RabbitMQ (own
// names), the embedded S3 server with a staging bucket, a gateway (its dispatcher publishes the
// tasks), a worker with the synthetic u2netp, and `clearcut api` in this process.

export interface RemoveStack {
  readonly environment: TestEnvironment;
  readonly db: Database;
  readonly s3: TestS3;
  readonly staging: string;
  readonly base: string;
  /** Starts another API on the same stack with other settings (a shorter wait, say). */
  api(extra: Environment): Promise<{ readonly base: string; readonly service: ApiService }>;
  startWorker(): Promise<Worker>;
  /** A tenant on `tier` with (unless `staging` is false) read and write grants on its staging prefix. */
  tenant(id: string, options?: { tier?: string; staging?: boolean }): Promise<TestKey>;
  token(key: TestKey): Promise<string>;
  /** Keys in the staging bucket. */
  stagedKeys(): Promise<string[]>;
  jobCount(tenantId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startRemoveStack(label: string, extra: Environment = {}): Promise<RemoveStack> {
  await syntheticModel('u2netp');
  const s3 = await startTestS3();
  const staging = await s3.createBucket('staging');
  const environment = await createTestEnvironment(label, {
    ...s3.env,
    ...workerEnv,
    CLEARCUT_API_PORT: '0',
    CLEARCUT_GATEWAY_HTTP_PORT: '0',
    CLEARCUT_GATEWAY_EVENTS: 'false',
    CLEARCUT_API_STAGING_BUCKET: staging,
    CLEARCUT_API_REMOVE_WAIT: '30s',
    ...extra,
  });
  const db = createDatabase(environment.config.database);
  await migrate(db);
  const broker: TestBroker = await createTestBroker(environment.amqpPrefix);
  const log = createLogger('silent');
  const gateway: Gateway = await startGateway(environment.config, { log });
  const apis: ApiService[] = [];
  const workers: Worker[] = [];
  const masterKey = requireMasterKey(environment.config.gateway.masterKey);
  const startOne = async (env: Environment) => {
    const service = await startApi(loadConfig({ ...environment.env, ...env }), { log });
    apis.push(service);
    return { base: `http://127.0.0.1:${service.port}`, service };
  };
  const { base } = await startOne({});
  return {
    environment,
    db,
    s3,
    staging,
    base,
    api: startOne,
    async startWorker() {
      const worker = await startWorker(environment.config, { log });
      workers.push(worker);
      return worker;
    },
    async tenant(id, { tier = 'unlimited', staging: granted = true } = {}) {
      await createTenant(db, id, tier);
      if (granted) {
        await addGrant(db, id, { bucket: staging, prefix: `remove/${id}/`, access: 'read' });
        await addGrant(db, id, { bucket: staging, prefix: `remove/${id}/`, access: 'write' });
      }
      const created = await createKey(db, masterKey, {
        tenantId: id,
        algorithm: 'hmac-sha256',
        environment: 'test',
        expiresAt: null,
      });
      return { keyId: created.key.keyId, tenantId: id, secret: decodeSigningSecret(created.shownOnce) };
    },
    token: (key) => accessToken(base, key),
    async stagedKeys() {
      const keys: string[] = [];
      for await (const blob of s3.store.list(staging, '')) keys.push(blob.key);
      return keys;
    },
    async jobCount(tenantId) {
      const [row] = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM jobs WHERE tenant_id = $1',
        [tenantId],
      );
      return row!.n;
    },
    async close() {
      for (const api of apis) await api.stop();
      for (const worker of workers) await worker.stop();
      await gateway.stop();
      const channel = await broker.bus.channel();
      for (const queue of workerTopology(broker.names, environment.config.worker.retryDelaysMs).queues) {
        await channel.deleteQueue(queue.name);
      }
      await channel.close();
      await broker.dispose();
      await db.close();
      await environment.dispose();
      await s3.stop();
    },
  };
}
