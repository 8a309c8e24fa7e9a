// npm run bench:pipeline [-- --count 16 --model u2net --workers 1,2 --variant before --variant defaults
//                            --rounds 2 --soak 500 --fanout 100000 --profile 4]
//
// End to end: signed job in → gateway process → worker process(es) → every cutout in the output
// bucket (embedded S3) and the job completed in PostgreSQL, as images per second on 2000×2000
// photos; next to a bare ONNX Runtime loop on the same model and thread count in the same round.
// Peak RSS per worker (VmHWM), and the workers' own profile of each stage (clearcut_worker_stage_
// seconds). --variant (repeatable; presets in support/pipeline-variants.ts, or NAME=VAR=v,VAR=v)
// runs the workers with other settings, alternating round by round (--rounds). --soak N: one
// worker, u2netp, N small photos, RSS growth from the first 10% to the end. --fanout N: time for
// the gateway to expand an N-key JSONL manifest into task rows. --profile N: CPU time of each of a
// worker's steps on N photos, one step at a time (support/stage-cpu.ts). The end-to-end runs also
// print the CPU per image of each process, and the CPU ratio: the bare loop's CPU per image ÷ the
// worker's, gateway's and S3 server's, which a busy neighbour skews far less than the img/s ratio,
// and the worker's garbage collections per image (its clearcut_nodejs_gc_duration_seconds). Prints Markdown tables; writes bench/results/pipeline-*.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { startEmbeddedS3 } from '../infra/dev/embedded-s3/embedded-s3.js';
import { type Config, loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { resolveModel } from '../src/models/registry.js';
import { addGrant } from '../src/policy/grant-admin.js';
import { setQuota } from '../src/policy/quota-settings.js';
import { connectAmqpBus } from '../src/queue/amqp-bus.js';
import { topologyNames } from '../src/queue/topology.js';
import type { BlobStore } from '../src/storage/blob-store.js';
import { createS3BlobStore } from '../src/storage/s3-blob-store.js';
import { createTenant } from '../src/tenants/tenants.js';
import { removeTopology } from './support/broker-cleanup.js';
import { generatePhotos } from './support/photos.js';
import { type PipelineVariant, parseVariant } from './support/pipeline-variants.js';
import { cpuPer, cpuTimes } from './support/process-cpu.js';
import { processMemory as memory } from './support/process-memory.js';
import { benchProducer } from './support/producer.js';
import { machineInfo, markdownTable, writeResults } from './support/results.js';
import { stageCpu } from './support/stage-cpu.js';
import { mergeStages, type StageProfile, workerStages } from './support/worker-stages.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '16' },
    model: { type: 'string', default: 'u2net' },
    workers: { type: 'string', default: '1,2' },
    variant: { type: 'string', multiple: true, default: ['defaults'] },
    rounds: { type: 'string', default: '1' },
    soak: { type: 'string', default: '0' },
    fanout: { type: 'string', default: '0' },
    profile: { type: 'string', default: '0' },
  },
});
const root = fileURLToPath(new URL('../', import.meta.url));
const cores = availableParallelism();
const suffix = randomBytes(4).toString('hex');
const env: Record<string, string> = {
  CLEARCUT_DATABASE_SCHEMA: `bench_pipeline_${suffix}`,
  CLEARCUT_AMQP_PREFIX: `bench_pipeline_${suffix}`,
  CLEARCUT_MASTER_KEY: process.env.CLEARCUT_MASTER_KEY ?? randomBytes(32).toString('base64'),
  CLEARCUT_GATEWAY_HTTP_PORT: '0',
  CLEARCUT_HTTP_PORT: '0',
  CLEARCUT_DISPATCH_INTERVAL: '50ms',
  CLEARCUT_LOG_LEVEL: 'info',
  // Served by the gateway; the soak and fan-out jobs name u2netp. A worker loads only the model its
  // run measures (startWorkers), so its peak RSS is that model's.
  CLEARCUT_MODEL: values.model,
  CLEARCUT_MODELS: [...new Set([values.model, 'u2netp'])].join(','),
  // Measures cost, which the synthetic stand-ins share with real weights.
  CLEARCUT_ALLOW_SYNTHETIC_MODELS: process.env.CLEARCUT_ALLOW_SYNTHETIC_MODELS ?? 'true',
};

/** The HTTP port a process logged in its start line ("httpPort":N). */
function httpPortOf(output: string): number {
  return Number(/"httpPort":(\d+)/.exec(output)?.[1] ?? 0);
}

function startProcess(
  entry: string,
  extra: Record<string, string>,
  ready: string,
  checkout = root,
): Promise<ChildProcess & { httpPort: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: checkout,
    env: { ...process.env, ...env, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
      if (output.includes(ready)) resolve(Object.assign(child, { httpPort: httpPortOf(output) }));
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 3_600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Bare ORT: the same model and threads, one 1×3×S×S tensor after another; images per second, and
 * the CPU (this process, every thread) each image took.
 */
async function bareRun(config: Config, model: string, threads: number, runs: number) {
  const resolved = await resolveModel(config.models, model);
  const session = await ort.InferenceSession.create(resolved.path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const size = resolved.spec.inputSize;
  const tensor = new ort.Tensor('float32', new Float32Array(3 * size * size).fill(0.5), [1, 3, size, size]);
  await session.run({ [session.inputNames[0]!]: tensor }); // warm-up
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let run = 0; run < runs; run++) await session.run({ [session.inputNames[0]!]: tensor });
  const { user, system } = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return { imagesPerSecond: runs / seconds, cpuMsPerImage: (user + system) / 1000 / runs };
}

interface Submitter {
  submit(body: unknown): Promise<string>;
}

async function pipelineRun(
  db: Database,
  submitter: Submitter,
  tenant: string,
  keys: string[],
  model: string,
  workerCount: number,
  threads: number,
  output: string,
  store: BlobStore,
  variant: Omit<PipelineVariant, 'name'> = { env: {} },
) {
  const workers = await Promise.all(
    Array.from({ length: workerCount }, () =>
      startProcess(
        'workers/inference.ts',
        {
          CLEARCUT_INFERENCE_THREADS: String(threads),
          CLEARCUT_WORKER_PREFETCH: '2',
          CLEARCUT_MODELS: model,
          // As infra/Dockerfile sets them for every process of the image.
          MALLOC_ARENA_MAX: '2',
          MALLOC_MMAP_THRESHOLD_: '1048576',
          // Another checkout's workers load this one's weights.
          CLEARCUT_MODEL_DIR: resolve(root, config.models.dir),
          ...variant.env,
        },
        'worker started',
        variant.checkout,
      ),
    ),
  );
  const prefix = `run-${workerCount}-${model}-${randomBytes(3).toString('hex')}/`;
  // Warm-up: one image per worker loads the model before the clock starts.
  const warm = await submitter.submit(jobOf(keys.slice(0, workerCount), model, output, `${prefix}warm/`));
  await waitFor(() => completed(db, tenant, warm), 'warm-up');
  // CPU of each process over the timed job, per image: the workers', the gateway's, this process's
  // (the embedded S3 server serving every download and upload), and the shared servers'.
  const processes = {
    worker: workers.map((w) => w.pid!),
    gateway: gateway?.pid,
    'bench (S3)': process.pid,
  };
  const cpuBefore = await cpuTimes(processes);
  const gcBefore = await Promise.all(workers.map((w) => workerGc(w.httpPort)));
  const started = performance.now();
  const jobId = await submitter.submit(jobOf(keys, model, output, prefix));
  const samples: number[] = [];
  const sampler = setInterval(() => {
    void Promise.all(workers.map((w) => memory(w.pid!))).then((m) => samples.push(...m.map((x) => x.rss)));
  }, 1000);
  await waitFor(() => completed(db, tenant, jobId), 'the job');
  let outputs = 0;
  let outputBytes = 0;
  await waitFor(async () => {
    outputs = 0;
    outputBytes = 0;
    for await (const blob of store.list(output, prefix)) {
      if (!blob.key.endsWith('.cutout.png') || blob.key.startsWith(`${prefix}warm/`)) continue;
      outputs++;
      outputBytes += blob.size;
    }
    return outputs >= keys.length;
  }, 'the outputs');
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerImage = cpuPer(cpuBefore, await cpuTimes(processes), keys.length);
  const gcAfter = await Promise.all(workers.map((w) => workerGc(w.httpPort)));
  clearInterval(sampler);
  const peaks = await Promise.all(workers.map((w) => memory(w.pid!)));
  // The warm-up's stages are in the profile too: one image per worker among keys.length + workers.
  const stages = mergeStages(await Promise.all(workers.map((w) => workerStages(w.httpPort))));
  await Promise.all(workers.map(stop));
  return {
    seconds,
    imagesPerSecond: keys.length / seconds,
    peakRssMiB: peaks.map((p) => Math.round(p.peak)),
    outputBytes,
    stages,
    cpuMsPerImage,
    gcPerImage: gcPer(gcBefore, gcAfter, keys.length),
    samples,
  };
}

type GcTotals = Record<string, { count: number; seconds: number }>;

/** A worker's V8 collections so far by kind (major, minor, incremental, weakcb), from its /metrics. */
async function workerGc(httpPort: number): Promise<GcTotals> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const totals: GcTotals = {};
  for (const line of text.split('\n')) {
    const match =
      /^clearcut_nodejs_gc_duration_seconds_(sum|count)\{[^}]*kind="([a-z]+)"[^}]*\} ([0-9.e+-]+)$/.exec(
        line,
      );
    if (!match) continue;
    const kind = totals[match[2]!] ?? { count: 0, seconds: 0 };
    if (match[1] === 'sum') kind.seconds = Number(match[3]);
    else kind.count = Number(match[3]);
    totals[match[2]!] = kind;
  }
  return totals;
}

/**
 * The workers' collections per image between two readings: mark-compacts, scavenges, and the
 * main thread's pause in all of them (ms; V8's helper threads mark and sweep beside it).
 */
function gcPer(before: readonly GcTotals[], after: readonly GcTotals[], images: number) {
  const sum = (field: 'count' | 'seconds', kinds: readonly string[]) =>
    after.reduce(
      (total, totals, index) =>
        total +
        kinds.reduce((n, kind) => n + (totals[kind]?.[field] ?? 0) - (before[index]![kind]?.[field] ?? 0), 0),
      0,
    ) / images;
  const all = ['major', 'minor', 'incremental', 'weakcb'];
  return {
    majors: sum('count', ['major']),
    minors: sum('count', ['minor']),
    pauseMs: sum('seconds', all) * 1000,
  };
}

const stageOrder = [
  'gate',
  'download',
  'decode',
  'preprocess',
  'queue',
  'ort',
  'postprocess',
  'render',
  'upload',
  'record',
];

/** One row per stage, one column per variant and worker count. */
function stageRows(profiles: readonly { variant: string; workers: number; stages: StageProfile }[]) {
  const columns = [...new Set(profiles.map(({ variant, workers }) => `${variant} (${workers} w)`))];
  const merged = columns.map((column) =>
    mergeStages(
      profiles
        .filter(({ variant, workers }) => `${variant} (${workers} w)` === column)
        .map(({ stages }) => stages),
    ),
  );
  return [
    ['stage', ...columns],
    ...stageOrder.map((stage) => [
      stage,
      ...merged.map((stages) => +(stages[stage]?.meanMs ?? 0).toFixed(0)),
    ]),
  ];
}

function jobOf(keys: string[], model: string, output: string, prefix: string) {
  return {
    version: 1,
    input: { bucket: 'bench-in', keys },
    output: { bucket: output, prefix },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model,
  };
}

async function completed(db: Database, tenant: string, jobId: string): Promise<boolean> {
  const [job] = await db.query<{ state: string }>('SELECT state FROM jobs WHERE tenant_id = $1 AND id = $2', [
    tenant,
    jobId,
  ]);
  return job?.state === 'completed';
}

const s3 = await startEmbeddedS3();
Object.assign(env, s3.env);
const config = loadConfig({ ...process.env, ...env });
const db = createDatabase(config.database);
const store = createS3BlobStore(config.storage);
const bus = await connectAmqpBus(config.broker.url, { connectionName: 'bench pipeline' });
const names = topologyNames(config.broker.prefix);
let gateway: ChildProcess | undefined;
const report: Record<string, unknown> = { cores, machine: machineInfo() };
try {
  await migrate(db);
  const tenant = (await createTenant(db, 'bench', 'unlimited')).id;
  await setQuota(db, tenant, { jobsPerMinute: null, burst: null, maxInFlight: null });
  for (const bucket of ['bench-in', 'bench-out']) {
    await store.createBucket(bucket);
    await addGrant(db, tenant, { bucket, prefix: '', access: bucket === 'bench-in' ? 'read' : 'write' });
  }
  const producer = await benchProducer(db, config, tenant, `bench-${suffix}`);
  const publisher = await bus.publisher();
  const submitter: Submitter = {
    async submit(jobBody) {
      const message = producer.message(Buffer.from(JSON.stringify(jobBody)));
      await publisher.publish([message]);
      return message.messageId;
    },
  };
  gateway = await startProcess('workers/gateway.ts', {}, 'gateway started');

  const profilePhotos = Number(values.profile);
  if (profilePhotos > 0) {
    const threads = cores;
    const steps = await stageCpu(config, values.model, threads, await generatePhotos(profilePhotos, 2000));
    console.log(
      `\nCPU of each step, one at a time (${values.model}, ${threads} threads, ${profilePhotos} generated 2000×2000 photos, median; 1-minute load ${loadavg()[0]!.toFixed(1)}):\n`,
    );
    console.log(
      markdownTable([
        ['step', 'CPU ms', 'wall ms', 'cores busy'],
        ...steps.map(({ step, cpuMs, wallMs }) => [
          step,
          Math.round(cpuMs),
          Math.round(wallMs),
          +(cpuMs / wallMs).toFixed(2),
        ]),
      ]),
    );
    report.profile = steps;
  }

  const count = Number(values.count);
  const photos = await generatePhotos(Math.max(1, Math.min(count, 8)), 2000);
  const keys = Array.from({ length: count }, (_, i) => `photos/${i}.png`);
  await Promise.all(
    keys.map((key, i) =>
      store.put('bench-in', key, photos[i % photos.length]!.bytes, { contentType: 'image/png' }),
    ),
  );
  const variants: PipelineVariant[] = values.variant.map(parseVariant);
  const rounds = Math.max(1, Number(values.rounds));
  const rows: (string | number)[][] = [
    [
      'variant',
      'round',
      'workers',
      'threads/worker',
      'images',
      'pipeline img/s',
      'bare ORT img/s × workers',
      'ratio',
      'CPU ratio',
      'peak RSS MiB',
      'MB out',
      'load 1m',
    ],
  ];
  const runs: Record<string, unknown>[] = [];
  const profiles: { variant: string; workers: number; stages: StageProfile }[] = [];
  const cpuGroups = ['worker', 'gateway', 'bench (S3)', 'postgres', 'rabbitmq', 'machine'];
  const cpuRows: (string | number)[][] = [
    ['variant', 'round', 'workers', ...cpuGroups, 'worker GC pause', 'mark-compacts', 'scavenges'],
  ];
  for (const workerCount of values.workers.split(',').filter(Boolean).map(Number)) {
    const threads = Math.max(1, Math.floor(cores / workerCount));
    for (let round = 1; round <= rounds; round++) {
      // Bare ORT once per round: every variant of the round is divided by the same rate.
      const bareRound = await bareRun(config, values.model, threads, Math.max(4, Math.min(count, 16)));
      const bare = bareRound.imagesPerSecond * workerCount;
      for (const variant of variants) {
        const run = await pipelineRun(
          db,
          submitter,
          tenant,
          keys,
          values.model,
          workerCount,
          threads,
          'bench-out',
          store,
          variant,
        );
        const ratio = run.imagesPerSecond / bare;
        // Robust to a neighbour's load, which the rates are not: the model's CPU per image alone ÷
        // what the pipeline's own processes spent per image (postgres and rabbitmq are shared).
        const ours = ['worker', 'gateway', 'bench (S3)'].reduce(
          (sum, group) => sum + run.cpuMsPerImage[group]!,
          0,
        );
        const cpuRatio = bareRound.cpuMsPerImage / ours;
        const load = loadavg()[0]!;
        rows.push([
          variant.name,
          round,
          workerCount,
          threads,
          count,
          +run.imagesPerSecond.toFixed(3),
          +bare.toFixed(3),
          +ratio.toFixed(2),
          +cpuRatio.toFixed(2),
          run.peakRssMiB.join(' / '),
          +(run.outputBytes / 1e6).toFixed(1),
          +load.toFixed(1),
        ]);
        console.error(`${rows.at(-1)!.join(' | ')}`);
        profiles.push({ variant: variant.name, workers: workerCount, stages: run.stages });
        cpuRows.push([
          variant.name,
          round,
          workerCount,
          ...cpuGroups.map((group) => Math.round(run.cpuMsPerImage[group] ?? 0)),
          Math.round(run.gcPerImage.pauseMs),
          +run.gcPerImage.majors.toFixed(2),
          +run.gcPerImage.minors.toFixed(2),
        ]);
        runs.push({
          variant: variant.name,
          env: variant.env,
          round,
          workers: workerCount,
          threads,
          images: count,
          ...run,
          bareImagesPerSecond: bare,
          bareCpuMsPerImage: bareRound.cpuMsPerImage,
          ratio,
          cpuRatio,
          loadAverage1m: load,
          samples: undefined,
        });
      }
    }
  }
  if (runs.length > 0) {
    console.log(
      `\nEnd to end (signed job → all cutouts in the bucket), ${values.model}, 2000×2000 photos, ${cores} cores:\n`,
    );
    console.log(markdownTable(rows));
    console.log(
      "\nWhere a task's time goes (workers' clearcut_worker_stage_seconds, mean ms per task, wall time):\n",
    );
    console.log(markdownTable(stageRows(profiles)));
    console.log(
      `\nCPU per image by process (ms of CPU time, all threads; postgres, rabbitmq and machine include the rest of this machine's load), and the worker's V8 collections per image (GC pause: ms of its main thread):\n`,
    );
    console.log(markdownTable(cpuRows));
  }
  report.pipeline = runs;

  const soak = Math.min(Number(values.soak), 1000);
  if (soak > 0) {
    const small = await generatePhotos(8, 640);
    const soakKeys = Array.from({ length: soak }, (_, i) => `soak/${i}.png`);
    for (let i = 0; i < soak; i += 50) {
      await Promise.all(
        soakKeys
          .slice(i, i + 50)
          .map((key, j) =>
            store.put('bench-in', key, small[(i + j) % small.length]!.bytes, { contentType: 'image/png' }),
          ),
      );
    }
    // One job (at most 1000 keys, the job contract's limit) on one worker.
    const run = await pipelineRun(
      db,
      submitter,
      tenant,
      soakKeys,
      'u2netp',
      1,
      cores,
      'bench-out',
      store,
      variants[0],
    );
    const early = run.samples.slice(0, Math.max(1, Math.floor(run.samples.length / 10)));
    const growth = (run.samples.at(-1) ?? 0) - Math.max(...early);
    console.log(
      `\nSoak: ${soak} images (u2netp, 640 px, 1 worker): peak RSS ${run.peakRssMiB[0]} MiB, RSS growth after the first 10%: ${growth.toFixed(0)} MiB, ${run.imagesPerSecond.toFixed(2)} img/s\n`,
    );
    report.soak = {
      images: soak,
      peakRssMiB: run.peakRssMiB[0],
      growthMiB: growth,
      imagesPerSecond: run.imagesPerSecond,
    };
  }

  const fanout = Number(values.fanout);
  if (fanout > 0) {
    const lines = Array.from({ length: fanout }, (_, i) =>
      JSON.stringify({ key: `photos/${i % count}-${i}.png` }),
    );
    await store.put('bench-in', 'manifests/fanout.jsonl', Buffer.from(`${lines.join('\n')}\n`), {
      contentType: 'application/x-ndjson',
    });
    // No worker runs now: released tasks wait in the queue (deleted at the end). The tenant's window
    // stays unbounded, since the expander pauses while 10,000 of a tenant's tasks are unreleased.
    const started = performance.now();
    const jobId = await submitter.submit({
      version: 1,
      input: { manifest: { bucket: 'bench-in', key: 'manifests/fanout.jsonl' } },
      output: { bucket: 'bench-out', prefix: 'fanout/' },
      renditions: [{ kind: 'cutout', format: 'png' }],
      model: 'u2netp',
    });
    await waitFor(async () => {
      const [job] = await db.query<{ total: number | null }>(
        'SELECT total FROM jobs WHERE tenant_id = $1 AND id = $2',
        [tenant, jobId],
      );
      return job?.total === fanout;
    }, 'the manifest expansion');
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `Fan-out: a ${fanout}-key JSONL manifest expanded into task rows in ${seconds.toFixed(1)} s (${(fanout / seconds).toFixed(0)} keys/s)\n`,
    );
    report.fanout = { keys: fanout, seconds };
  }
  await publisher.close();
  console.log(`Results: ${await writeResults('pipeline', report)}`);
} finally {
  if (gateway) await stop(gateway);
  await removeTopology(bus, names, config.worker.retryDelaysMs);
  await bus.close();
  await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
  await db.close();
  store.close();
  await s3.close();
}
