// npm run bench:gateway-floor [-- --messages 10000 --rounds 2 --algorithms hmac-sha256,ed25519
//   --rungs broker,rows,js,gateway --cpu-prof DIR]
//
// The gateway's floor: what RabbitMQ, PostgreSQL and the contract's per-job JavaScript cost on
// this machine whatever the gateway's code, measured like the gateway itself. A ladder of minimal
// bench-only consumers (bench/support/floor-consumer.ts) runs in the gateway's place, end to end
// against the real broker and database (bench/support/gateway-end-to-end.ts: the same producer,
// job bodies, tenant, settings, backlog and live modes, /proc CPU accounting):
//   broker  consume, publish a persistent task and result event per job with confirms, ack;
//   rows    + one transaction per batch writing nonces, jobs, tasks and outbox rows, and one
//             statement after the confirms marking the tasks published and deleting the events;
//   js      + per job the signature check, timestamp, JSON.parse and the zod job schema;
//   gateway the real gateway (workers/gateway.ts), in the same run.
// A stand-in's rung with `-classic` (`--rungs js,js-classic`) runs it on classic queues instead of
// the topology's quorum queues: what the queue type costs the broker.
// Rungs alternate within each round. Every run counts the tasks and result events that reached
// their queues and fails (status 1) when one is missing or doubled. Rates and CPU are taken when
// the last task and event is out. RabbitMQ serves the machine's other users too: its CPU over three
// idle seconds before each rung is recorded, and a ceiling with that rate taken out. Last, the
// floor's two statements alone (bench/support/floor-statement-cost.ts). Prints Markdown tables;
// writes bench/results/gateway-floor-*.json.
import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/postgres.js';
import type { KeyAlgorithm } from '../src/signing/index.js';
import {
  createFloorSchema,
  dropFloorSchema,
  type FloorRung,
  floorReadyLine,
  floorRungVariable,
  floorSchemaVariable,
} from './support/floor-schema.js';
import { floorStatementCost } from './support/floor-statement-cost.js';
import { type ConsumerProcess, type EndToEnd, measureGatewayEndToEnd } from './support/gateway-end-to-end.js';
import { cpuTimes } from './support/process-cpu.js';
import { markdownTable, median, writeResults } from './support/results.js';

/** `-classic` after a stand-in's rung: the same on classic queues (durable, unreplicated) instead of quorum. */
type Rung = FloorRung | `${FloorRung}-classic` | 'gateway';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '2' },
    algorithms: { type: 'string', default: 'hmac-sha256,ed25519' },
    rungs: { type: 'string', default: 'broker,rows,js,gateway' },
    /** Writes a V8 CPU profile of each consumer process (stand-in or gateway) into this directory. */
    'cpu-prof': { type: 'string' },
  },
});
const messageCount = Number(values.messages);
const rounds = Number(values.rounds);
const algorithms = values.algorithms.split(',') as KeyAlgorithm[];
const rungs = values.rungs.split(',') as Rung[];

/** The three processes a deployment's cores go to; the producer runs elsewhere. */
const stack = ['gateway', 'postgres for the gateway', 'rabbitmq'] as const;
const columns = [...stack, 'bench', 'machine'] as const;
const idleCoresMs = 2000;

interface FloorRow {
  round: number;
  rung: Rung;
  algorithm: KeyAlgorithm;
  mode: EndToEnd['mode'];
  /** Jobs/s until the last task and result event were in their queues. */
  perSecond: number;
  cpuMsPerJob: Record<string, number>;
  /** 2,000 ms ÷ the stack's CPU ms per job: the most two idle cores could do, not a rate measured. */
  ceiling: number;
  /** RabbitMQ's CPU (ms/s) over a few seconds before the rung, while this bench was idle: others' work. */
  rabbitmqBackground: number;
  /** The ceiling with that background rate taken out of RabbitMQ's ms per job (an estimate). */
  ceilingLessBackground: number;
  loadAverage1m: number;
}

async function measureRung(name: Rung, algorithm: KeyAlgorithm): Promise<EndToEnd[]> {
  const classicQueues = name.endsWith('-classic');
  const rung = name.replace(/-classic$/, '') as FloorRung | 'gateway';
  const common = {
    algorithm,
    messages: messageCount,
    items: 1,
    countOutput: true,
    cpuProfileDir: values['cpu-prof'],
    classicQueues,
  };
  if (rung === 'gateway') {
    if (classicQueues)
      throw new Error('the gateway declares its quorum queues itself: no gateway-classic rung');
    return measureGatewayEndToEnd(common);
  }
  const schema = `bench_floor_${randomBytes(4).toString('hex')}`;
  const db = createDatabase(loadConfig(process.env).database);
  await createFloorSchema(db, schema);
  const consumer: ConsumerProcess = {
    script: 'bench/support/floor-consumer.ts',
    env: { [floorRungVariable]: rung, [floorSchemaVariable]: schema },
    readyLine: floorReadyLine,
    admittedSql: rung === 'broker' ? undefined : `SELECT count(*) AS n FROM "${schema}".jobs`,
    drainsOutbox: false,
  };
  try {
    return await measureGatewayEndToEnd({ ...common, consumer });
  } finally {
    await dropFloorSchema(db, schema);
    await db.close();
  }
}

/** RabbitMQ is shared with the machine's other users: its CPU while this bench does nothing, ms/s. */
async function rabbitmqBackground(seconds = 3): Promise<number> {
  const before = await cpuTimes({});
  await sleep(seconds * 1000);
  const after = await cpuTimes({});
  return Math.round((after.byGroup.rabbitmq! - before.byGroup.rabbitmq!) / seconds);
}

function floorRow(round: number, rung: Rung, row: EndToEnd, background: number): FloorRow {
  const { perSecond, cpuMsPerJob } = row.allOut!;
  const stackMs = stack.reduce((sum, group) => sum + cpuMsPerJob[group]!, 0);
  return {
    round,
    rung,
    algorithm: row.algorithm,
    mode: row.mode,
    perSecond,
    cpuMsPerJob,
    ceiling: Math.round(idleCoresMs / stackMs),
    rabbitmqBackground: background,
    ceilingLessBackground: Math.round(idleCoresMs / (stackMs - background / perSecond)),
    loadAverage1m: Math.round(row.loadAverage[0]! * 10) / 10,
  };
}

const rows: FloorRow[] = [];
for (let round = 1; round <= rounds; round++) {
  for (const algorithm of algorithms) {
    for (const rung of rungs) {
      const background = await rabbitmqBackground();
      for (const row of await measureRung(rung, algorithm)) rows.push(floorRow(round, rung, row, background));
      const last = rows.at(-1)!;
      console.error(
        `round ${round} ${algorithm} ${rung}: ${last.perSecond} jobs/s live, ceiling ${last.ceiling}, load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
  }
}

const ms = (value: number) => value.toFixed(3);
/** Median CPU ms per job of `group` over the rounds of one algorithm, mode and rung. */
const medianMs = (same: readonly FloorRow[], group: string) =>
  median(same.map((row) => row.cpuMsPerJob[group]!));
console.log(
  `\nThe gateway's floor, ${messageCount} jobs per mode, ${rounds} round(s), ${availableParallelism()} cores. CPU ms per job: consumer · its postgres backends · rabbitmq · producer · machine; ceiling = ${idleCoresMs} ms ÷ (consumer + postgres + rabbitmq), on two idle cores (not a rate measured):\n`,
);
console.log(
  markdownTable([
    [
      'algorithm',
      'mode',
      'rung',
      'round',
      'jobs/s (all out)',
      'CPU ms/job',
      'ceiling jobs/s',
      'rabbitmq before, ms/s',
      'ceiling less that',
      'load 1 min',
    ],
    ...rows.map((row) => [
      row.algorithm,
      row.mode,
      row.rung,
      row.round,
      row.perSecond,
      columns.map((group) => ms(row.cpuMsPerJob[group]!)).join(' · '),
      row.ceiling,
      row.rabbitmqBackground,
      row.ceilingLessBackground,
      row.loadAverage1m,
    ]),
  ]),
);
console.log('\nMedians over the rounds:\n');
const groups = new Map<string, FloorRow[]>();
for (const row of rows) {
  const key = `${row.algorithm}|${row.mode}|${row.rung}`;
  groups.set(key, [...(groups.get(key) ?? []), row]);
}
console.log(
  markdownTable([
    [
      'algorithm',
      'mode',
      'rung',
      'jobs/s (all out)',
      'CPU ms/job',
      'ceiling jobs/s, median (least)',
      'ceiling less rabbitmq background',
      'load 1 min',
    ],
    ...[...groups.values()].map((same) => [
      same[0]!.algorithm,
      same[0]!.mode,
      same[0]!.rung,
      median(same.map((row) => row.perSecond)),
      columns.map((group) => ms(medianMs(same, group))).join(' · '),
      `${Math.round(median(same.map((row) => row.ceiling)))} (${Math.min(...same.map((row) => row.ceiling))})`,
      Math.round(median(same.map((row) => row.ceilingLessBackground))),
      `${Math.min(...same.map((row) => row.loadAverage1m))}–${Math.max(...same.map((row) => row.loadAverage1m))}`,
    ]),
  ]),
);
const gaps = [...groups.values()].flatMap((gateway) => {
  const { algorithm, mode, rung } = gateway[0]!;
  const floor = groups.get(`${algorithm}|${mode}|js`);
  return rung === 'gateway' && floor ? [{ algorithm, mode, gateway, floor }] : [];
});
if (gaps.length > 0) {
  console.log('\nThe real gateway above the floor (the js rung), medians, CPU ms per job:\n');
  console.log(
    markdownTable([
      ['algorithm', 'mode', ...stack, 'all three'],
      ...gaps.map(({ algorithm, mode, gateway, floor }) => {
        const above = stack.map((group) => medianMs(gateway, group) - medianMs(floor, group));
        const rounded = (value: number) => Math.round(value * 1000) / 1000;
        return [
          algorithm,
          mode,
          ...above.map(rounded),
          rounded(above.reduce((sum, value) => sum + value, 0)),
        ];
      }),
    ]),
  );
}
const statements = await floorStatementCost();
console.log(
  `\nThe floor's statements alone, batches of ${statements.batchSize} on one connection (as bench/gateway-statements.ts measures the gateway's), PostgreSQL backend CPU per job: admission ${statements.admitMicros} µs, tasks published and outbox deleted ${statements.publishedMicros} µs (load ${loadavg()[0]!.toFixed(1)})`,
);
const settings = loadConfig(process.env).gateway;
const path = await writeResults('gateway-floor', {
  settings: {
    batchSize: settings.batchSize,
    batchWindowMs: settings.batchWindowMs,
    batchesInFlight: settings.batchesInFlight,
    prefetch: settings.prefetch,
  },
  messages: messageCount,
  rounds,
  rows,
  statements,
});
console.log(`\nwrote ${path}`);
