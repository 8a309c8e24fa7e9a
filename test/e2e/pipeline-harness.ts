import { fileURLToPath } from 'node:url';
import { type Environment, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { createS3BlobStore } from '../../src/storage/s3-blob-store.js';
import { startWorker, type Worker } from '../../src/worker/worker.js';
import { createGatewayHarness, type GatewayHarness, type TestKey } from '../gateway/harness.js';
import { syntheticModel, testModelDir } from '../support/models.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { untilValue } from '../support/until.js';
import { type FlakyS3, startFlakyS3 } from './flaky-s3.js';

// Gateway + worker(s) on a real broker, PostgreSQL and an embedded S3 server reached through a
// proxy that can fail chosen requests. Workers run in this process (their S3 traffic still goes
// over HTTP), except where a test kills one.

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface PipelineHarness {
  readonly h: GatewayHarness;
  readonly s3: TestS3;
  readonly flaky: FlakyS3;
  /** Everything a worker or gateway process needs (S3 through the proxy). */
  readonly env: Environment;
  /** A tenant with read on `input` and (unless `write` is false) write on `output`, without quotas in the way. */
  tenant(input: string, output: string, options?: { write?: boolean }): Promise<TestKey>;
  /** Signs and publishes a job; resolves once the gateway accepted it. */
  submit(key: TestKey, body: unknown): Promise<string>;
  startWorker(env?: Environment): Promise<Worker>;
  waitForJob(tenant: string, jobId: string, timeoutMs?: number): Promise<JobRow>;
  tasks(tenant: string, jobId: string): Promise<TaskRow[]>;
  keys(bucket: string): Promise<string[]>;
  dispose(): Promise<void>;
}

export interface JobRow {
  state: string;
  total: number;
  succeeded: number;
  failed: number;
}

export interface TaskRow {
  item: number;
  source_key: string;
  status: string;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  outputs: { key: string; rendition: string }[] | null;
}

export const workerEnv: Environment = {
  CLEARCUT_MODEL_DIR: `${testModelDir}`,
  CLEARCUT_INFERENCE_THREADS: '1',
  CLEARCUT_WORKER_PREFETCH: '2',
  CLEARCUT_RETRY_DELAYS: '100ms,200ms',
  CLEARCUT_MAX_ATTEMPTS: '3',
  CLEARCUT_MODEL: 'u2netp',
  CLEARCUT_MODELS: 'u2netp',
  CLEARCUT_S3_MAX_ATTEMPTS: '1',
  CLEARCUT_S3_TIMEOUT: '10s',
  CLEARCUT_DISPATCH_INTERVAL: '50ms',
  CLEARCUT_WORKER_DRAIN_TIMEOUT: '10s',
};

export async function createPipelineHarness(
  label: string,
  extra: Environment = {},
): Promise<PipelineHarness> {
  await syntheticModel('u2netp'); // built once into .cache/, where the workers' model dir points
  const s3 = await startTestS3();
  const flaky = await startFlakyS3(s3.server.endpoint);
  const s3Env = { ...s3.env, CLEARCUT_S3_ENDPOINT: flaky.endpoint };
  const h = await createGatewayHarness(label, { ...s3Env, ...workerEnv, ...extra });
  const env = h.environment.env;
  await h.startGateway();
  const workers: Worker[] = [];
  const listing = createS3BlobStore(s3.config);
  return {
    h,
    s3,
    flaky,
    env,
    async tenant(input, output, { write = true } = {}) {
      const tenant = await h.tenant('unlimited');
      await h.quota(tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
      await h.grant(tenant, input, '', 'read');
      if (write) await h.grant(tenant, output, '', 'write');
      return h.key(tenant);
    },
    async submit(key, body) {
      const message = h.signed(key, body);
      await h.publish(message);
      const decision = await h.decision(message.messageId);
      if (decision.kind !== 'accepted') throw new Error(`job rejected: ${JSON.stringify(decision)}`);
      return message.messageId;
    },
    async startWorker(overrides = {}) {
      const config = loadConfig({ ...env, ...overrides });
      const worker = await startWorker(config, { log: createLogger(config.log.level) });
      workers.push(worker);
      return worker;
    },
    async waitForJob(tenant, jobId, timeoutMs = 300_000) {
      return untilValue(
        async () => {
          const [job] = await h.db.query<JobRow>(
            'SELECT state, total, succeeded, failed FROM jobs WHERE tenant_id = $1 AND id = $2',
            [tenant, jobId],
          );
          return job?.state === 'completed' ? job : undefined;
        },
        { what: `job ${jobId} to complete`, timeoutMs },
      );
    },
    tasks: (tenant, jobId) =>
      h.db.query<TaskRow>(
        `SELECT item, source_key, status, attempts, error_code, error_message, outputs
         FROM tasks WHERE tenant_id = $1 AND job_id = $2 ORDER BY item`,
        [tenant, jobId],
      ),
    async keys(bucket) {
      const keys: string[] = [];
      for await (const blob of listing.list(bucket, '')) keys.push(blob.key);
      return keys;
    },
    async dispose() {
      for (const worker of workers) await worker.stop();
      const channel = await h.broker.bus.channel();
      for (const queue of workerTopology(h.broker.names, loadConfig(env).worker.retryDelaysMs).queues) {
        await channel.deleteQueue(queue.name);
      }
      await channel.close();
      await h.dispose();
      listing.close();
      await flaky.close();
      await s3.stop();
    },
  };
}
