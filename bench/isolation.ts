// npm run bench:isolation [-- --images 20 --size 640 --rate 1000 --lines 1000000 --lead 5]
//
// Tenant isolation under a hostile producer, on a real stack: a gateway process and a worker
// process against the machine's RabbitMQ and PostgreSQL and the embedded S3 server. Tenant B's
// job of N images (u2netp, synthetic weights) is timed twice: on a quiet system, then while tenant
// A, with valid credentials, floods the gateway: --rate badly signed messages per second, a
// manifest with NUL bytes, a 1,000,000-line manifest of bad keys, body-size bombs (64 KiB over
// the body limit, under the broker's message limit, 2 per second) and output-size bombs (white renditions of
// 16384 px, 5 per second). B's job is published --lead seconds into the flood; the jobs queue is
// shared, so its backlog then and at the end is reported. Passes when the flooded time is within
// 1.5× the quiet one and every process stays under its documented memory limit (infra/k8s).
// Prints both times and each process's peak RSS (VmHWM); writes bench/results/isolation-*.json.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { startEmbeddedS3 } from '../infra/dev/embedded-s3/embedded-s3.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { addGrant } from '../src/policy/grant-admin.js';
import { setQuota } from '../src/policy/quota-settings.js';
import { connectAmqpBus } from '../src/queue/amqp-bus.js';
import { topologyNames } from '../src/queue/topology.js';
import { createS3BlobStore } from '../src/storage/s3-blob-store.js';
import { createTenant } from '../src/tenants/tenants.js';
import { startServiceProcess } from '../test/support/service-process.js';
import { removeTopology } from './support/broker-cleanup.js';
import { generatePhotos } from './support/photos.js';
import { processMemory } from './support/process-memory.js';
import { benchProducer } from './support/producer.js';
import { markdownTable, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '20' },
    size: { type: 'string', default: '640' },
    rate: { type: 'string', default: '1000' },
    lead: { type: 'string', default: '5' },
    lines: { type: 'string', default: '1000000' },
  },
});
const images = Number(values.images);
const rate = Number(values.rate);
const lines = Number(values.lines);
const allowedRatio = 1.5;
const jobTimeoutMs = 300_000;
// The memory limits infra/k8s gives each process (gateway.yaml, worker.yaml), in MiB.
const limitsMiB = { gateway: 512, worker: 2048 };
const cores = availableParallelism();
const suffix = randomBytes(4).toString('hex');
const s3 = await startEmbeddedS3();
const env: Record<string, string> = {
  ...s3.env,
  CLEARCUT_DATABASE_SCHEMA: `bench_isolation_${suffix}`,
  CLEARCUT_AMQP_PREFIX: `bench_isolation_${suffix}`,
  CLEARCUT_MASTER_KEY: randomBytes(32).toString('base64'),
  CLEARCUT_GATEWAY_HTTP_PORT: '0',
  CLEARCUT_HTTP_PORT: '0',
  CLEARCUT_EVENTS_HTTP_PORT: '0',
  CLEARCUT_DISPATCH_INTERVAL: '50ms',
  CLEARCUT_MODEL: 'u2netp',
  CLEARCUT_MODELS: 'u2netp',
  CLEARCUT_ALLOW_SYNTHETIC_MODELS: 'true',
  CLEARCUT_INFERENCE_THREADS: String(cores),
};
const config = loadConfig({ ...process.env, ...env });
const db = createDatabase(config.database);
const store = createS3BlobStore(config.storage);
const bus = await connectAmqpBus(config.broker.url, { connectionName: 'bench isolation' });
const names = topologyNames(config.broker.prefix);
const processes: { stop(): Promise<unknown> }[] = [];

/** A tenant with its buckets and a key; `message` signs (or, `forged`, mis-signs) a job body. */
async function producer(name: string, tier: string) {
  const tenant = (await createTenant(db, `${name}-${suffix}`, tier)).id;
  for (const bucket of [`${name}-in`, `${name}-out`]) {
    await store.createBucket(bucket);
    const access = bucket.endsWith('-in') ? 'read' : 'write';
    await addGrant(db, tenant, { bucket, prefix: '', access });
  }
  const { message } = await benchProducer(db, config, tenant, `${name}-${suffix}`);
  return { tenant, name, message };
}

const jobBody = (name: string, input: unknown, renditions: unknown[] = [{ kind: 'cutout', format: 'png' }]) =>
  Buffer.from(
    JSON.stringify({
      version: 1,
      input,
      output: { bucket: `${name}-out`, prefix: 'cut/' },
      renditions,
      model: 'u2netp',
    }),
  );

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = jobTimeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const jobState = async (q: Database, tenant: string, jobId: string) =>
  (
    await q.query<{ state: string }>('SELECT state FROM jobs WHERE tenant_id = $1 AND id = $2', [
      tenant,
      jobId,
    ])
  )[0]?.state;

try {
  await migrate(db);
  const publisher = await bus.publisher();
  const victim = await producer('victim', 'unlimited');
  await setQuota(db, victim.tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
  const flooder = await producer('flooder', 'pro');

  const photos = await generatePhotos(Math.min(images, 8), Number(values.size));
  const keys = Array.from({ length: images }, (_, i) => `photos/${i}.jpg`);
  await Promise.all(
    keys.map((key, i) =>
      store.put('victim-in', key, photos[i % photos.length]!.bytes, { contentType: 'image/jpeg' }),
    ),
  );
  const nulManifest = Buffer.concat([
    Buffer.from('{"key":"a.jpg"}\n'),
    Buffer.from([0x7b, 0x00, 0x7d, 0x0a]),
    Buffer.from('{"key":"b\\u0000.jpg"}\n'),
  ]);
  await store.put('flooder-in', 'nul.jsonl', nulManifest, { contentType: 'application/x-ndjson' });
  const bad = Array.from({ length: lines }, (_, i) => `{"key":"bad/../${i}.jpg"}`).join('\n');
  await store.put('flooder-in', 'million.jsonl', Buffer.from(`${bad}\n`), {
    contentType: 'application/x-ndjson',
  });

  const gateway = await startServiceProcess(['workers/gateway.ts'], env, 'gateway started');
  processes.push(gateway);
  const worker = await startServiceProcess(['workers/inference.ts'], env, 'worker started', 300_000);
  processes.push(worker);

  /** Seconds from publishing tenant B's job to its completion. */
  async function victimJob(count: number): Promise<number> {
    const message = victim.message(jobBody('victim', { bucket: 'victim-in', keys: keys.slice(0, count) }));
    const started = performance.now();
    await publisher.publish([message]);
    await waitFor(
      async () => (await jobState(db, victim.tenant, message.messageId)) === 'completed',
      `job ${message.messageId}`,
    );
    return (performance.now() - started) / 1000;
  }

  await victimJob(2); // warm-up: the model is loaded and the stack has run once
  const quietSeconds = await victimJob(images);
  console.log(`quiet: ${quietSeconds.toFixed(2)} s`);

  // The flood: two manifests at once, then every 100 ms its share of forged messages and bombs.
  await publisher.publish([
    flooder.message(jobBody('flooder', { manifest: { bucket: 'flooder-in', key: 'nul.jsonl' } })),
    flooder.message(jobBody('flooder', { manifest: { bucket: 'flooder-in', key: 'million.jsonl' } })),
  ]);
  const sizeBomb = Buffer.alloc(config.gateway.maxBodyBytes + 64 * 1024, 0x20);
  const outputBomb = jobBody('flooder', { bucket: 'flooder-in', key: 'a.jpg' }, [
    { kind: 'white', square: true, minSide: 16384, fill: 0.1 },
    { kind: 'white', square: true, minSide: 16384, fill: 0.1, format: 'png' },
  ]);
  const sent = { forged: 0, sizeBombs: 0, outputBombs: 0 };
  const floodStarted = performance.now();
  let flooding = true;
  const flood = (async () => {
    for (let tick = 0; flooding; tick++) {
      const due = Math.floor(((performance.now() - floodStarted) / 1000) * rate) - sent.forged;
      const batch = Array.from({ length: Math.max(0, Math.min(due, rate)) }, () =>
        flooder.message(outputBomb, { forged: true }),
      );
      if (tick % 5 === 0) batch.push(flooder.message(sizeBomb));
      if (tick % 2 === 0) batch.push(flooder.message(outputBomb));
      await publisher.publish(batch);
      sent.forged += batch.length - (tick % 5 === 0 ? 1 : 0) - (tick % 2 === 0 ? 1 : 0);
      sent.sizeBombs += tick % 5 === 0 ? 1 : 0;
      sent.outputBombs += tick % 2 === 0 ? 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  // The flood in full swing first; the jobs queue is shared, so its backlog delays B's admission.
  await new Promise((resolve) => setTimeout(resolve, Number(values.lead) * 1000));
  const channel = await bus.channel();
  const backlog = async () => (await channel.checkQueue(names.jobsQueue)).messageCount;
  const backlogAtSubmit = await backlog();
  const floodedSeconds = await victimJob(images);
  const backlogAtEnd = await backlog();
  flooding = false;
  await flood;
  const floodSeconds = (performance.now() - floodStarted) / 1000;
  console.log(`flooded: ${floodedSeconds.toFixed(2)} s`);

  const memory = {
    gateway: await processMemory(gateway.child.pid!),
    worker: await processMemory(worker.child.pid!),
    s3: await processMemory(s3.pid),
    bench: await processMemory(process.pid),
  };
  const decided = await db.query<{ reason: string | null; messages: string }>(
    `SELECT coalesce(reason, outcome) AS reason, sum(count)::text AS messages FROM audit_log
     WHERE source = 'job' AND (tenant_id = $1 OR tenant_id IS NULL) GROUP BY 1 ORDER BY 1`,
    [flooder.tenant],
  );
  // How far tenant A's two manifests got meanwhile: they were being listed while B's job ran.
  const manifests = await db.query<{ state: string; skipped: number; total: number | null }>(
    'SELECT state, skipped, total FROM jobs WHERE tenant_id = $1 ORDER BY created_at',
    [flooder.tenant],
  );
  const ratio = floodedSeconds / quietSeconds;
  const withinMemory = memory.gateway.peak <= limitsMiB.gateway && memory.worker.peak <= limitsMiB.worker;
  const passed = ratio <= allowedRatio && withinMemory;
  console.log(`\nTenant B's ${images}-image job (u2netp synthetic, ${values.size} px, ${cores} cores):\n`);
  console.log(
    markdownTable([
      ['system', 'seconds'],
      ['quiet', +quietSeconds.toFixed(2)],
      [`tenant A flooding (${rate}/s forged + bombs + manifests)`, +floodedSeconds.toFixed(2)],
      ['ratio (limit 1.5)', +ratio.toFixed(2)],
    ]),
  );
  console.log('\nPeak RSS (VmHWM) since start:\n');
  console.log(
    markdownTable([
      ['process', 'peak MiB', 'limit MiB'],
      ['gateway', Math.round(memory.gateway.peak), limitsMiB.gateway],
      ['worker', Math.round(memory.worker.peak), limitsMiB.worker],
      ['embedded S3', Math.round(memory.s3.peak), '-'],
      ['bench (producers)', Math.round(memory.bench.peak), '-'],
    ]),
  );
  console.log(`\nTenant A's manifest jobs: ${JSON.stringify(manifests)}`);
  console.log(
    `\nJobs queue backlog: ${backlogAtSubmit} messages when B's job was published, ${backlogAtEnd} when it completed`,
  );
  console.log(
    `\nFlood: ${JSON.stringify(sent)} in ${floodSeconds.toFixed(1)} s; decisions: ${decided.map((d) => `${d.reason} ${d.messages}`).join(', ')}`,
  );
  console.log(
    `\n${passed ? 'PASS' : 'FAIL'}: ratio ${ratio.toFixed(2)} (≤ ${allowedRatio}), memory ${withinMemory ? 'within' : 'OVER'} limits`,
  );
  const path = await writeResults('isolation', {
    cores,
    images,
    size: Number(values.size),
    quietSeconds,
    floodedSeconds,
    ratio,
    passed,
    flood: {
      ...sent,
      seconds: floodSeconds,
      ratePerSecond: rate,
      manifestLines: lines,
      leadSeconds: Number(values.lead),
      backlogAtSubmit,
      backlogAtEnd,
      decided,
      manifests,
    },
    peakRssMiB: Object.fromEntries(Object.entries(memory).map(([name, m]) => [name, Math.round(m.peak)])),
    limitsMiB,
  });
  console.log(`Results: ${path}`);
  await publisher.close();
  process.exitCode = passed ? 0 : 1;
} finally {
  for (const child of processes.reverse()) await child.stop().catch(() => {});
  await removeTopology(bus, names, config.worker.retryDelaysMs);
  await bus.close();
  await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
  await db.close();
  store.close();
  await s3.close();
}
