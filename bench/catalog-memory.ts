// npx tsx bench/catalog-memory.ts [--items 1000000]
//
// Finalises one completed job of N items (default 1,000,000: a million-line results manifest)
// against the real PostgreSQL and the embedded S3 server (a process of its own), and reports the
// peak RSS of the process that finalises. Two ways, each in a fresh child process, side by side:
//   buffered — the manifest gathered in memory and sent as one PUT (how finalisation used to work);
//   streamed — finalizeJob as the gateway runs it (database pages → multipart upload, one part held).
// Prints a Markdown table; writes bench/results/catalog-memory-*.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedS3 } from '../infra/dev/embedded-s3/embedded-s3.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { finalizeJob } from '../src/jobs/job-finalizer.js';
import {
  resultsManifestContentType,
  resultsManifestKey,
  resultsManifestLines,
} from '../src/jobs/results-manifest.js';
import { createLogger } from '../src/log.js';
import { createS3BlobStore } from '../src/storage/s3-blob-store.js';
import { createTenant } from '../src/tenants/tenants.js';
import { machineInfo, markdownTable, writeResults } from './support/results.js';

type Mode = 'buffered' | 'streamed';
interface Measured {
  mode: Mode;
  items: number;
  manifestBytes: number;
  seconds: number;
  baselineRssMiB: number;
  peakRssMiB: number;
}

const MiB = 1024 ** 2;
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000000' },
    child: { type: 'string' },
    tenant: { type: 'string' },
    job: { type: 'string' },
  },
});

if (values.child) await child(values.child as Mode, values.tenant!, values.job!);
else await main(Number(values.items));

async function main(items: number) {
  const suffix = randomBytes(4).toString('hex');
  const s3 = await startEmbeddedS3();
  const env = { ...process.env, ...s3.env, CLEARCUT_DATABASE_SCHEMA: `bench_catalog_${suffix}` };
  const config = loadConfig(env);
  const db = createDatabase(config.database);
  try {
    await migrate(db);
    const store = createS3BlobStore(config.storage);
    await store.createBucket('bench-out');
    store.close();
    const tenant = (await createTenant(db, `bench-${suffix}`, 'pro')).id;
    const jobId = `bench-${suffix}`;
    const spec = {
      version: 1,
      input: { bucket: 'bench-in', prefix: 'products/' },
      output: { bucket: 'bench-out', prefix: 'cut/' },
      renditions: [{ kind: 'cutout', format: 'png' }],
      model: 'u2netp',
    };
    await db.query(
      `INSERT INTO jobs (tenant_id, id, state, spec, model, lane, total, succeeded, completed_at)
       VALUES ($1, $2, 'completed', $3, 'u2netp', 'normal', $4, $4, now())`,
      [tenant, jobId, spec, items],
    );
    const started = Date.now();
    await db.query(
      `INSERT INTO tasks (tenant_id, job_id, item, source_bucket, source_key, lane_rank, status, outputs, finished_at)
       SELECT $1, $2, g, 'bench-in', 'products/' || lpad(g::text, 7, '0') || '.jpg', 1, 'succeeded',
         jsonb_build_array(jsonb_build_object('rendition', 'cutout', 'bucket', 'bench-out',
           'key', 'cut/products/' || lpad(g::text, 7, '0') || '.cutout.png', 'contentType', 'image/png',
           'bytes', 51234, 'width', 800, 'height', 800)), now()
       FROM generate_series(0, $3::int - 1) g`,
      [tenant, jobId, items],
    );
    console.error(`${items} task rows written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Buffered first: the streamed run is the real finaliser, which marks the job finalised.
    const results: Measured[] = [];
    for (const mode of ['buffered', 'streamed'] as const) {
      results.push(await runChild(mode, tenant, jobId, env));
      console.error(`${mode}: peak RSS ${results.at(-1)!.peakRssMiB} MiB`);
    }
    console.log(
      markdownTable([
        ['finalising', 'items', 'manifest', 'time', 'RSS before', 'peak RSS'],
        ...results.map((r) => [
          r.mode,
          r.items,
          `${(r.manifestBytes / MiB).toFixed(0)} MiB`,
          `${r.seconds.toFixed(1)} s`,
          `${r.baselineRssMiB} MiB`,
          `${r.peakRssMiB} MiB`,
        ]),
      ]),
    );
    console.error(`written to ${await writeResults('catalog-memory', { machine: machineInfo(), results })}`);
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await db.close();
    await s3.close();
  }
}

function runChild(mode: Mode, tenant: string, job: string, env: NodeJS.ProcessEnv): Promise<Measured> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, '--child', mode, '--tenant', tenant, '--job', job];
  const process_ = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  process_.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
  return new Promise((resolve, reject) => {
    process_.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measured)
        : reject(new Error(`${mode} exited ${code}`)),
    );
  });
}

async function child(mode: Mode, tenantId: string, jobId: string) {
  const config = loadConfig(process.env);
  const db = createDatabase(config.database);
  const store = createS3BlobStore(config.storage);
  const log = createLogger('silent');
  const rss = () => Math.round(process.memoryUsage().rss / MiB);
  const baselineRssMiB = rss();
  let peakRssMiB = baselineRssMiB;
  const sampler = setInterval(() => {
    peakRssMiB = Math.max(peakRssMiB, rss());
  }, 10);
  const key = resultsManifestKey('cut/', jobId);
  const started = Date.now();
  const [job] = await db.query<{ skipped: number; total: number }>(
    'SELECT skipped, total FROM jobs WHERE tenant_id = $1 AND id = $2',
    [tenantId, jobId],
  );
  if (mode === 'buffered') {
    const lines: string[] = [];
    for await (const line of resultsManifestLines(db, { tenantId, jobId, skipped: job!.skipped }))
      lines.push(line);
    const body = Buffer.from(`${lines.join('\n')}\n`);
    await store.put('bench-out', key, body, { contentType: resultsManifestContentType });
  } else if (!(await finalizeJob({ db, store, log }, { tenantId, jobId }))) {
    throw new Error('the job was not finalised');
  }
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  peakRssMiB = Math.max(peakRssMiB, rss(), Math.round((process.resourceUsage().maxRSS * 1024) / MiB));
  const manifestBytes = (await store.head('bench-out', key))?.size ?? 0;
  store.close();
  await db.close();
  const measured: Measured = { mode, items: job!.total, manifestBytes, seconds, baselineRssMiB, peakRssMiB };
  console.log(JSON.stringify(measured));
}
