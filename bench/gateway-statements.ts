// npx tsx bench/gateway-statements.ts [-- --batches 30 --size 200 --tenants 1 --items 1 --path hand-off]
//
// What each admitted job costs the database and the gateway, statement by statement, without the
// broker: admitBatch on batches of realistic requests (a signed door's nonces and byte bodies),
// then what the gateway does with them afterwards, a dispatcher round (release, read the jobs it
// did not admit itself, build the task messages, record them published; the broker replaced by a
// publisher that confirms at once) and the outbox relay's statements (claim, delete). `--path
// hand-off` (the gateway's, the default): admission releases the tasks and leases the events to the
// gateway, which publishes them itself (src/jobs/publishing.ts HandOff), and the dispatcher and
// relay run only for what it did not take; `--path dispatcher`: the other doors'. On ONE connection, so the
// CPU of its PostgreSQL backend (from /proc) is measured per statement, beside the round trip as
// the client sees it and this process's CPU; `BEGIN`/`COMMIT` and the rest are the difference
// between a whole transaction and its statements. Prints a table per statement; writes
// bench/results/gateway-statements-*.json.
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { admitBatch } from '../src/admission/admit.js';
import { nonceLedger } from '../src/admission/nonces.js';
import type { AdmissionRequest } from '../src/admission/request.js';
import { loadConfig } from '../src/config.js';
import type { Database, Queryable } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/postgres.js';
import { createAdmittedJobs } from '../src/gateway/admitted-jobs.js';
import { dispatchRound, publishTasks, roundsPerPublish } from '../src/jobs/dispatcher.js';
import { jobRefKey } from '../src/jobs/job-store.js';
import { type ClaimedEvent, claimEvents, deleteEvents } from '../src/jobs/outbox.js';
import { publishEvents } from '../src/jobs/outbox-relay.js';
import { type JobForTasks, type ReleasedTask, taskOutbox } from '../src/jobs/task-queue.js';
import { modelCatalog } from '../src/models/catalog.js';
import type { Publisher } from '../src/queue/bus.js';
import { topologyNames } from '../src/queue/topology.js';
import { createBenchTenant } from './support/bench-tenant.js';
import { processCpuMs } from './support/process-cpu.js';
import { markdownTable, writeResults } from './support/results.js';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '30' },
    size: { type: 'string', default: '200' },
    tenants: { type: 'string', default: '1' },
    items: { type: 'string', default: '1' },
    path: { type: 'string', default: 'hand-off' },
  },
});
if (values.path !== 'hand-off' && values.path !== 'dispatcher') {
  throw new Error(`--path ${values.path}: expected hand-off or dispatcher`);
}
const handOff = values.path === 'hand-off';
const batches = Number(values.batches);
const size = Number(values.size);
const tenantCount = Number(values.tenants);
const items = Number(values.items);

const schema = `bench_statements_${randomBytes(4).toString('hex')}`;
const config = loadConfig({ ...process.env, CLEARCUT_DATABASE_SCHEMA: schema });
// One connection: its backend is the one whose CPU each statement is charged.
const db = createDatabase({ ...config.database, poolSize: 1 });
const catalog = modelCatalog({ defaultModel: 'u2netp' });
const leaseMs = 30_000;

let backendPid = 0;

interface Cost {
  calls: number;
  ms: number;
  backendCpuMs: number;
  nodeCpuMs: number;
}
const costs = new Map<string, Cost>();
/** What the statements charged now belong to. */
let stage: 'admission' | 'hand-off' | 'dispatcher' | 'relay' = 'admission';
/** Runs `work`, charging its round trip and both processes' CPU to `name`. */
async function charged<T>(name: string, work: () => Promise<T>): Promise<T> {
  const backend = await processCpuMs(backendPid);
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    return await work();
  } finally {
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const cost = costs.get(name) ?? { calls: 0, ms: 0, backendCpuMs: 0, nodeCpuMs: 0 };
    cost.calls += 1;
    cost.ms += ms;
    cost.nodeCpuMs += (used.user + used.system) / 1000;
    cost.backendCpuMs += (await processCpuMs(backendPid)) - backend;
    costs.set(name, cost);
  }
}

const statementName = (text: string) => `${stage}: ${text.replace(/\s+/g, ' ').trim().slice(0, 50)}`;
function timed(q: Queryable): Queryable {
  return { query: (text, params) => charged(statementName(text), () => q.query(text, params)) };
}
const admissionWhole = '(admission transaction, whole)';
const releaseWhole = '(release transaction, whole)';
const dispatcherWhole = '(dispatcher round, whole)';
const handOffWhole = '(hand-off, whole)';
/** `db` with every statement charged, and each transaction (the dispatcher's release) as a whole. */
function timedDatabase(inner: Database): Database {
  return {
    ...inner,
    query: timed(inner).query,
    transaction: (work) => charged(releaseWhole, () => inner.transaction((tx) => work(timed(tx)))),
  };
}

/** The broker as a dispatcher round sees it, confirming at once: only the gateway's own work is left. */
const confirmingPublisher: Publisher = { publish: async () => {}, close: async () => {} };

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
  const [backend] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  backendPid = backend!.pid;
  const measured = timedDatabase(db);
  // As the gateway does: its dispatcher reads back only jobs it did not admit itself.
  const admittedJobs = createAdmittedJobs();
  const outbox = admittedJobs.serving(taskOutbox(measured));
  const names = topologyNames('bench');
  for (let b = 0; b < batches + 3; b++) {
    const requests = Array.from({ length: size }, (_, n) => request(tenants[n % tenants.length]!));
    if (b === 3) costs.clear(); // the first batches warm up the JIT and the plans
    stage = 'admission';
    let admitted: readonly JobForTasks[] = [];
    let handed: { tasks: readonly ReleasedTask[]; events: readonly ClaimedEvent[] } = {
      tasks: [],
      events: [],
    };
    const decisions = await charged(admissionWhole, () =>
      db.transaction((tx) =>
        admitBatch(timed(tx), requests, {
          now: new Date(),
          catalog,
          nonces: nonceLedger,
          onAdmitted: (jobs) => {
            admitted = jobs;
          },
          ...(handOff
            ? {
                release: { leaseMs, most: config.gateway.dispatchQuantum * roundsPerPublish },
                onReleased: (tasks: readonly ReleasedTask[], events: readonly ClaimedEvent[]) => {
                  handed = { tasks, events };
                },
              }
            : {}),
        }),
      ),
    );
    admittedJobs.remember(admitted);
    const refused = decisions.find((d) => d.outcome !== 'accepted');
    if (refused) throw new Error(`a bench job was not admitted: ${JSON.stringify(refused)}`);
    // What follows every admission: the tasks released and published, the result events relayed.
    if (handOff) {
      stage = 'hand-off';
      const jobOf = new Map(admitted.map((job) => [jobRefKey(job), job]));
      const { tasks, events } = handed;
      await charged(handOffWhole, async () => {
        await publishEvents(events, {
          db: measured,
          publisher: confirmingPublisher,
          exchange: names.resultsExchange,
        });
        await publishTasks(
          taskOutbox(measured),
          tasks.map((task) => [task, jobOf.get(jobRefKey(task))!] as const),
          { publisher: confirmingPublisher, names },
        );
      });
    }
    stage = 'dispatcher';
    // As the gateway's dispatcher does: rounds of the configured quantum, up to ten per publish.
    for (let released = handed.tasks.length; released < size * items; ) {
      released += await charged(dispatcherWhole, () =>
        dispatchRound(outbox, {
          publisher: confirmingPublisher,
          names,
          quantum: config.gateway.dispatchQuantum,
          maxTenants: 100,
          leaseMs,
        }),
      );
    }
    if (handed.events.length < size) {
      stage = 'relay';
      const events = await claimEvents(measured, size, leaseMs);
      await deleteEvents(
        measured,
        events.map((event) => event.id),
      );
    }
  }
  const jobs = batches * size;
  const perJob = (ms: number) => Math.round((ms * 10_000) / jobs) / 10;
  const rows = [...costs].map(([statement, cost]) => ({
    statement,
    perBatch: Math.round((cost.calls / batches) * 10) / 10,
    msPerBatch: Math.round((cost.ms / batches) * 100) / 100,
    backend: perJob(cost.backendCpuMs),
    node: perJob(cost.nodeCpuMs),
  }));
  const wholes = [admissionWhole, releaseWhole, dispatcherWhole, handOffWhole];
  const statements = rows.filter((row) => !wholes.includes(row.statement));
  const backendOf = (pick: (name: string) => boolean) =>
    rows.filter((row) => pick(row.statement)).reduce((sum, row) => sum + row.backend, 0);
  const nodeOf = (pick: (name: string) => boolean) =>
    rows.filter((row) => pick(row.statement)).reduce((sum, row) => sum + row.node, 0);
  // BEGIN and COMMIT (the WAL flush) are what a whole transaction costs beyond its statements.
  const commits = [
    {
      statement: 'admission: BEGIN and COMMIT',
      backend: backendOf((n) => n === admissionWhole) - backendOf((n) => n.startsWith('admission: ')),
    },
    {
      statement: 'dispatcher: BEGIN and COMMIT of the release',
      backend:
        backendOf((n) => n === releaseWhole) -
        backendOf((n) => n.startsWith('dispatcher: WITH served_first')),
    },
  ].map((row) => ({ ...row, backend: Math.round(row.backend * 10) / 10 }));
  const summary = {
    backendCpuUsPerJob:
      Math.round((backendOf((n) => !wholes.includes(n)) + commits[0]!.backend + commits[1]!.backend) * 10) /
      10,
    // The admission transaction and the dispatcher round as wholes, plus the relay's statements.
    nodeCpuUsPerJob:
      Math.round(
        nodeOf(
          (n) =>
            n === admissionWhole || n === dispatcherWhole || n === handOffWhole || n.startsWith('relay: '),
        ) * 10,
      ) / 10,
    loadAverage: loadavg(),
  };
  console.log(
    `\n${batches} batches of ${size} jobs (${items} item(s) each), ${tenantCount} tenant(s), one connection, ${values.path} path; per admitted job:\n`,
  );
  console.log(
    markdownTable([
      ['statement', 'calls/batch', 'ms/batch (round trip)', 'postgres backend CPU µs/job', 'node CPU µs/job'],
      ...statements.map((r) => [r.statement, r.perBatch, r.msPerBatch, r.backend, r.node]),
      ...commits.map((r) => [r.statement, 1, '', r.backend, '']),
      ...rows
        .filter((row) => wholes.includes(row.statement))
        .map((r) => [r.statement, r.perBatch, r.msPerBatch, r.backend, r.node]),
    ]),
  );
  console.log(
    `\nper job: PostgreSQL backend ${summary.backendCpuUsPerJob} µs, node ${summary.nodeCpuUsPerJob} µs (admission, hand-off, dispatcher, relay; no broker); load ${loadavg()[0]!.toFixed(1)}`,
  );
  const path = await writeResults('gateway-statements', {
    path: values.path,
    batches,
    size,
    tenants: tenantCount,
    items,
    statements: [...rows, ...commits],
    ...summary,
  });
  console.log(`wrote ${path}`);
} finally {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await db.close();
}
