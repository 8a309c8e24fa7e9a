// npm run bench:manifest [-- --lines 100000 --worker on|off]
//
// Catalog fan-out end to end: ONE signed job whose input is a JSONL manifest of `--lines` object
// keys, published to a gateway process (`workers/gateway.ts`) against the real broker, database
// and the embedded S3 server, while an inference worker process (`workers/inference.ts`, the
// synthetic u2netp stand-in) takes the tasks as they are released. The objects do not exist, so
// the worker ends each task quickly as failed (not_found) — it writes its completions to the
// database while the listing runs, as a real fleet would. Measured: seconds from publishing the
// job until every line is a task row (the job leaves `expanding`), and CPU ms per key of the
// gateway, the worker, PostgreSQL and RabbitMQ. Prints a table; writes bench/results/manifest-*.json.
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedS3 } from '../infra/dev/embedded-s3/embedded-s3.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { connectAmqpBus } from '../src/queue/amqp-bus.js';
import { declareTopology } from '../src/queue/amqp-topology.js';
import { gatewayTopology, topologyNames } from '../src/queue/topology.js';
import { createS3BlobStore } from '../src/storage/s3-blob-store.js';
import { type ServiceProcess, startServiceProcess } from '../test/support/service-process.js';
import { createBenchTenant } from './support/bench-tenant.js';
import { removeTopology } from './support/broker-cleanup.js';
import { backendPids, cpuPer, cpuTimes, withApplicationName } from './support/process-cpu.js';
import { benchProducer } from './support/producer.js';
import { machineInfo, markdownTable, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '100000' },
    worker: { type: 'string', default: 'on' },
  },
});
const lines = Number(values.lines);
const withWorker = values.worker !== 'off';

const suffix = randomBytes(4).toString('hex');
const s3 = await startEmbeddedS3();
const env: Record<string, string> = {
  ...s3.env,
  CLEARCUT_DATABASE_SCHEMA: `bench_manifest_${suffix}`,
  CLEARCUT_AMQP_PREFIX: `bench_manifest_${suffix}`,
  CLEARCUT_MASTER_KEY: process.env.CLEARCUT_MASTER_KEY ?? randomBytes(32).toString('base64'),
  CLEARCUT_GATEWAY_HTTP_PORT: '0',
  CLEARCUT_HTTP_PORT: '0',
  CLEARCUT_MODEL: 'u2netp',
  CLEARCUT_MODELS: 'u2netp',
  CLEARCUT_ALLOW_SYNTHETIC_MODELS: 'true',
  CLEARCUT_MODEL_DIR: join(tmpdir(), 'clearcut-bench-models'),
  CLEARCUT_INFERENCE_THREADS: '1',
};
const config = loadConfig({ ...process.env, ...env });
const db = createDatabase(config.database);
const bus = await connectAmqpBus(config.broker.url, { connectionName: 'bench manifest producer' });
const names = topologyNames(config.broker.prefix);
const channel = await bus.channel();
const store = createS3BlobStore(config.storage);
const processes: ServiceProcess[] = [];

try {
  await migrate(db);
  const tenant = await createBenchTenant(db);
  await store.createBucket('bench-in');
  await store.createBucket('bench-out');
  const manifest = Array.from({ length: lines }, (_, n) => `{"key":"catalog/2026/sku-${n}.jpg"}\n`).join('');
  await store.put('bench-in', 'manifests/catalog.jsonl', Buffer.from(manifest), {
    contentType: 'application/x-ndjson',
  });
  await declareTopology(channel, gatewayTopology(names));

  // Its PostgreSQL backends, told apart from the worker's and everyone else's (cpuMsPerKey).
  const gatewayDatabase = withApplicationName(config.database.url, `${config.database.schema}_gateway`);
  const gateway = await startServiceProcess(
    ['workers/gateway.ts'],
    { ...env, CLEARCUT_DATABASE_URL: gatewayDatabase },
    'gateway started',
  );
  processes.push(gateway);
  const worker = withWorker
    ? await startServiceProcess(['workers/inference.ts'], env, 'worker started', 180_000)
    : undefined;
  if (worker) processes.push(worker);

  const producer = await benchProducer(db, config, tenant, 'manifest');
  const message = producer.message(
    Buffer.from(
      JSON.stringify({
        version: 1,
        input: { manifest: { bucket: 'bench-in', key: 'manifests/catalog.jsonl' } },
        output: { bucket: 'bench-out', prefix: 'cutouts/' },
        renditions: [{ kind: 'cutout', format: 'webp' }],
        model: 'u2netp',
      }),
    ),
  );
  const publisher = await bus.publisher();
  const pids = async () => ({
    gateway: gateway.child.pid,
    'postgres for the gateway': await backendPids(db, `${config.database.schema}_gateway`),
    worker: worker?.child.pid,
    bench: process.pid,
  });
  const cpuAtStart = await cpuTimes(await pids());
  const started = performance.now();
  await publisher.publish([message]);
  let state = 'expanding';
  let items = 0;
  for (;;) {
    const [row] = await db.query<{ state: string; expanded_items: number }>(
      'SELECT state, expanded_items FROM jobs WHERE id = $1',
      [message.messageId],
    );
    state = row?.state ?? 'expanding';
    items = row?.expanded_items ?? 0;
    if (state !== 'expanding') break;
    if (performance.now() - started > 900_000)
      throw new Error(`still listing after 15 minutes (${items} items)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerKey = cpuPer(cpuAtStart, await cpuTimes(await pids()), lines);
  const [ended] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tasks WHERE status IN ('succeeded', 'failed')`,
  );
  await publisher.close();
  if (items !== lines) throw new Error(`the job listed ${items} items, the manifest has ${lines} lines`);

  const row = {
    lines,
    worker: withWorker,
    seconds: Math.round(seconds * 10) / 10,
    keysPerSecond: Math.round(lines / seconds),
    tasksEndedMeanwhile: ended!.n,
    cpuMsPerKey,
    loadAverage: loadavg(),
  };
  console.log(`\nOne ${lines}-line JSONL manifest → task rows, one gateway process:\n`);
  console.log(
    markdownTable([
      [
        'lines',
        'worker',
        'seconds',
        'keys/s',
        'tasks ended by the worker meanwhile',
        'CPU ms/key: gateway · its postgres backends · worker · rabbitmq · machine',
        'load 1 min',
      ],
      [
        row.lines,
        row.worker ? 'running' : 'none',
        row.seconds,
        row.keysPerSecond,
        row.tasksEndedMeanwhile,
        ['gateway', 'postgres for the gateway', 'worker', 'rabbitmq', 'machine']
          .map((g) => cpuMsPerKey[g] ?? '–')
          .join(' · '),
        row.loadAverage[0]!.toFixed(1),
      ],
    ]),
  );
  const path = await writeResults('manifest', { machine: machineInfo(), ...row });
  console.log(`\nwrote ${path}`);
} finally {
  for (const child of processes) await child.stop();
  await removeTopology(bus, names, config.worker.retryDelaysMs);
  await bus.close();
  store.close();
  await s3.close();
  await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
  await db.close();
}
