// npx tsx bench/gateway-statements.ts [-- --batches 30 --size 200 --tenants 1 --items 1]
//
// Where an admission batch's time goes, without the broker: admitBatch on batches of realistic
// requests (a signed door's nonces and byte bodies) against the real database, each statement
// timed as the client sees it (round trip included), and the node CPU per job of the whole
// batch (planning, zod, parameter encoding). Prints a table per statement; writes
// bench/results/gateway-statements-*.json.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { admitBatch } from '../src/admission/admit.js';
import { nonceLedger } from '../src/admission/nonces.js';
import type { AdmissionRequest } from '../src/admission/request.js';
import { loadConfig } from '../src/config.js';
import type { Queryable } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { modelCatalog } from '../src/models/catalog.js';
import { createBenchTenant } from './support/bench-tenant.js';
import { markdownTable, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '30' },
    size: { type: 'string', default: '200' },
    tenants: { type: 'string', default: '1' },
    items: { type: 'string', default: '1' },
  },
});
const batches = Number(values.batches);
const size = Number(values.size);
const tenantCount = Number(values.tenants);
const items = Number(values.items);

const schema = `bench_statements_${randomBytes(4).toString('hex')}`;
const config = loadConfig({ ...process.env, CLEARCUT_DATABASE_SCHEMA: schema });
const db = createDatabase(config.database);
const catalog = modelCatalog({ defaultModel: 'u2netp' });

/** Time per statement, keyed by the statement's first words. */
const timings = new Map<string, { calls: number; ms: number }>();
function timed(tx: Queryable): Queryable {
  return {
    async query(text, params) {
      const started = performance.now();
      try {
        return await tx.query(text, params);
      } finally {
        const name = text.replace(/\s+/g, ' ').trim().slice(0, 60);
        const entry = timings.get(name) ?? { calls: 0, ms: 0 };
        entry.calls += 1;
        entry.ms += performance.now() - started;
        timings.set(name, entry);
      }
    },
  };
}

let serial = 0;
function request(tenantId: string): AdmissionRequest {
  const n = ++serial;
  const keys = Array.from({ length: items }, (_, item) => `catalog/2026/sku-${n}-${item}.jpg`);
  const body = {
    version: 1,
    input: keys.length === 1 ? { bucket: 'bench-in', key: keys[0] } : { bucket: 'bench-in', keys },
    output: { bucket: 'bench-out', prefix: 'cutouts/' },
    renditions: [{ kind: 'cutout', format: 'webp', quality: 90 }, { kind: 'mask' }],
    model: 'u2netp',
    metadata: { sku: `sku-${n}`, source: 'bench' },
  };
  return {
    tenantId,
    jobId: `job-${n}`,
    keyId: `key-${tenantId}`,
    nonce: { value: randomBytes(16).toString('hex'), expiresAt: new Date(Date.now() + 300_000) },
    body: { bytes: Buffer.from(JSON.stringify(body)) },
    repeated: false,
    origin: { source: 'job' },
  };
}

try {
  await migrate(db);
  const tenants = Array.from({ length: tenantCount }, (_, n) => `bench-${n}`);
  for (const tenant of tenants) await createBenchTenant(db, tenant);
  let batchMs = 0;
  let cpuMicros = 0;
  for (let b = 0; b < batches + 3; b++) {
    const requests = Array.from({ length: size }, (_, n) => request(tenants[n % tenants.length]!));
    if (b === 3) {
      timings.clear(); // the first batches warm up the JIT and the plans
      batchMs = 0;
      cpuMicros = 0;
    }
    const cpu = process.cpuUsage();
    const started = performance.now();
    const decisions = await db.transaction((tx) =>
      admitBatch(timed(tx), requests, { now: new Date(), catalog, nonces: nonceLedger }),
    );
    batchMs += performance.now() - started;
    const used = process.cpuUsage(cpu);
    cpuMicros += used.user + used.system;
    const refused = decisions.find((d) => d.outcome !== 'accepted');
    if (refused) throw new Error(`a bench job was not admitted: ${JSON.stringify(refused)}`);
  }
  const jobs = batches * size;
  const rows = [...timings].map(([statement, { calls, ms }]) => ({
    statement,
    perBatch: calls / batches,
    msPerBatch: Math.round((ms / batches) * 100) / 100,
  }));
  console.log(`\n${batches} batches of ${size} jobs (${items} item(s) each), ${tenantCount} tenant(s):\n`);
  console.log(
    markdownTable([
      ['statement', 'calls/batch', 'ms/batch'],
      ...rows.map((r) => [r.statement, r.perBatch, r.msPerBatch]),
    ]),
  );
  const summary = {
    msPerBatch: Math.round((batchMs / batches) * 10) / 10,
    jobsPerSecondOneBatchAtATime: Math.round((jobs * 1000) / batchMs),
    nodeCpuMsPerJob: Math.round(cpuMicros / jobs) / 1000,
    loadAverage: loadavg(),
  };
  console.log(
    `\nbatch ${summary.msPerBatch} ms (${summary.jobsPerSecondOneBatchAtATime} jobs/s one batch at a time), node CPU ${summary.nodeCpuMsPerJob} ms/job, load ${loadavg()[0]!.toFixed(1)}`,
  );
  const path = await writeResults('gateway-statements', {
    batches,
    size,
    tenants: tenantCount,
    items,
    statements: rows,
    ...summary,
  });
  console.log(`wrote ${path}`);
} finally {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
}
