// npm run bench:api [-- --jobs 2000 --clients 1,4,16 --remove-samples 9 --photo 1024]
//
// 1. Signed POST /v1/jobs per second, end to end: K concurrent HTTP clients in this process sign
//    and send one-item jobs to a `clearcut api` process (`node --import tsx workers/api.ts`) until
//    --jobs are admitted; the clock stops when every answer is a 202 and the task rows are counted
//    in PostgreSQL (admitted, tasks durable). Per-request latency alongside.
// 2. In the same run, the AMQP gateway's admitted jobs/s on the same jobs (bench/support/gateway-
//    end-to-end.ts, what `npm run bench:gateway` measures): a backlog, and live with this process
//    publishing.
// 3. The latency POST /v1/remove adds over the worker's own time for the same photo
//    (measureRemoveLatency of bench/api-remove.ts): the API, a gateway and a worker (synthetic
//    u2netp, 1 thread) over the embedded S3 server.
// Prints Markdown tables; writes bench/results/api-*.json (with the core count and load).
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { createKey } from '../src/keys/key-admin.js';
import { requireMasterKey } from '../src/keys/secret-box.js';
import { silenceLibraryWarnings } from '../src/ops/library-warnings.js';
import { decodeSigningSecret, type SigningSecret, signHttpRequest } from '../src/signing/index.js';
import { startRemoveStack } from '../test/api/remove-stack.js';
import { testModelDir } from '../test/support/models.js';
import { startServiceProcess } from '../test/support/service-process.js';
import { measureRemoveLatency } from './api-remove.js';
import { createBenchTenant } from './support/bench-tenant.js';
import { benchJobBody, measureGatewayEndToEnd } from './support/gateway-end-to-end.js';
import { generatePhoto } from './support/photos.js';
import { markdownTable, median, writeResults } from './support/results.js';

silenceLibraryWarnings(); // the remove stack's S3 client would warn before the tables

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '1,4,16' },
    'remove-samples': { type: 'string', default: '9' },
    photo: { type: 'string', default: '1024' },
  },
});
const jobCount = Number(values.jobs);
const clientCounts = values.clients.split(',').map(Number);
const removeSamples = Number(values['remove-samples']);
const photoSide = Number(values.photo);
if (![jobCount, removeSamples, photoSide, ...clientCounts].every((n) => Number.isSafeInteger(n) && n > 0)) {
  throw new Error('--jobs, --clients, --remove-samples and --photo take positive whole numbers');
}

interface HttpRow {
  clients: number;
  jobs: number;
  admittedPerSecond: number;
  medianMs: number;
  p95Ms: number;
  loadAverage1m: number;
}

const count = async (db: Database, sql: string) => Number((await db.query<{ n: string }>(sql))[0]!.n);

/** One `clearcut api` process; for each K, K clients submit `jobCount` signed jobs between them. */
async function httpSubmissions(): Promise<HttpRow[]> {
  const suffix = randomBytes(4).toString('hex');
  const env = {
    CLEARCUT_DATABASE_SCHEMA: `bench_api_${suffix}`,
    CLEARCUT_AMQP_PREFIX: `bench_api_${suffix}`,
    CLEARCUT_MASTER_KEY: process.env.CLEARCUT_MASTER_KEY ?? randomBytes(32).toString('base64'),
    CLEARCUT_API_PORT: '0',
    // The jobs name u2netp, as the gateway bench's do.
    CLEARCUT_MODEL: 'u2netp',
  };
  const config = loadConfig({ ...process.env, ...env });
  const db = createDatabase(config.database);
  const rows: HttpRow[] = [];
  try {
    await migrate(db);
    const tenant = await createBenchTenant(db);
    const created = await createKey(db, requireMasterKey(config.gateway.masterKey), {
      tenantId: tenant,
      algorithm: 'hmac-sha256',
      environment: 'test',
      expiresAt: null,
    });
    const key = { keyId: created.key.keyId, secret: decodeSigningSecret(created.shownOnce) };
    const api = await startServiceProcess(['workers/api.ts'], { ...process.env, ...env }, 'api started');
    try {
      const base = `http://127.0.0.1:${api.logLine('api started')!.port as number}`;
      let submitted = 0;
      for (const clients of clientCounts) {
        const before = await count(db, 'SELECT count(*) AS n FROM tasks');
        const latencies: number[] = [];
        let next = 0;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (next < jobCount) {
              next++;
              const id = `http-${++submitted}`;
              const sent = performance.now();
              await submit(base, key, id, benchJobBody(submitted));
              latencies.push(performance.now() - sent);
            }
          }),
        );
        const tasks = await count(db, 'SELECT count(*) AS n FROM tasks');
        if (tasks - before !== jobCount) throw new Error(`${tasks - before} task rows for ${jobCount} jobs`);
        const seconds = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        rows.push({
          clients,
          jobs: jobCount,
          admittedPerSecond: Math.round(jobCount / seconds),
          medianMs: round1(median(latencies)),
          p95Ms: round1(latencies[Math.floor(latencies.length * 0.95)]!),
          loadAverage1m: round1(loadavg()[0]!),
        });
      }
    } finally {
      await api.stop();
    }
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await db.close();
  }
  return rows;
}

/** One signed POST /v1/jobs, as docs/protocol.md section 9.1 says; anything but 202 stops the bench. */
async function submit(
  base: string,
  key: { keyId: string; secret: SigningSecret },
  jobId: string,
  body: Buffer,
): Promise<void> {
  const headers = signHttpRequest({
    ...key,
    method: 'POST',
    target: '/v1/jobs',
    idempotencyKey: jobId,
    contentType: 'application/json',
    body,
  });
  const response = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': jobId },
    body,
  });
  if (response.status !== 202) throw new Error(`job ${jobId}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

async function removeLatency() {
  const stack = await startRemoveStack('bench api remove');
  try {
    await stack.startWorker();
    const key = await stack.tenant('bench');
    const photo = await generatePhoto(photoSide, photoSide, 7);
    return await measureRemoveLatency({
      baseUrl: stack.base,
      authorization: `Bearer ${await stack.token(key)}`,
      image: photo.bytes,
      contentType: 'image/jpeg',
      // The stack's worker: synthetic u2netp, one inference thread.
      engine: { model: 'u2netp', modelDir: testModelDir, allowSynthetic: true, threads: 1 },
      samples: removeSamples,
    });
  } finally {
    await stack.close();
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const startLoad = round1(loadavg()[0]!);

const http = await httpSubmissions();
const gateway = await measureGatewayEndToEnd({ algorithm: 'hmac-sha256', messages: jobCount, items: 1 });
const remove = await removeLatency();

console.log(
  `\nAdmitted jobs/s (tasks durable), ${jobCount} one-item jobs each, HMAC keys, ${availableParallelism()} cores, load ${startLoad} at the start:\n`,
);
console.log(
  markdownTable([
    ['door', 'clients', 'admitted jobs/s', 'median ms', 'p95 ms', 'load 1 min'],
    ...http.map((row) => [
      'HTTP POST /v1/jobs',
      row.clients,
      row.admittedPerSecond,
      row.medianMs,
      row.p95Ms,
      row.loadAverage1m,
    ]),
    ...gateway.map((row) => [
      `AMQP gateway (${row.mode})`,
      '—',
      row.admittedPerSecond,
      '—',
      '—',
      round1(row.loadAverage[0]!),
    ]),
  ]),
);
console.log(
  `\nPOST /v1/remove against the worker's own time, ${photoSide}×${photoSide} JPEG, PNG cutout, median of ${remove.samples}:\n`,
);
console.log(
  markdownTable([
    ['POST /v1/remove ms', "worker's removeBackground ms", 'added ms', 'added ms, paired median'],
    [
      round1(remove.removeMedianMs),
      round1(remove.workerMedianMs),
      round1(remove.addedMedianMs),
      round1(remove.addedPairedMedianMs),
    ],
  ]),
);
const path = await writeResults('api', {
  loadAverageAtStart: startLoad,
  jobs: jobCount,
  http,
  gateway,
  remove: { photo: `${photoSide}x${photoSide} jpeg`, ...remove },
});
console.log(`\nwrote ${path}`);
