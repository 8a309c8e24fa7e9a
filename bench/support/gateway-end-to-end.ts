// The AMQP gateway end to end, as `npm run bench:gateway` measures it and `npm run bench:api` sets
// beside the HTTP door in the same run: signed jobs published → a gateway process
// (`node --import tsx workers/gateway.ts`) → job and task rows committed (tasks durable), then tasks
// published to the tasks queue and result events out of the outbox. Twice: a backlog already in the
// inbox when the gateway starts (the gateway's own rate), and live, with this process publishing
// while the gateway admits (both share the machine's cores).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { connectAmqpBus } from '../../src/queue/amqp-bus.js';
import { declareTopology } from '../../src/queue/amqp-topology.js';
import type { OutboundMessage } from '../../src/queue/bus.js';
import { gatewayTopology, topologyNames } from '../../src/queue/topology.js';
import type { KeyAlgorithm } from '../../src/signing/index.js';
import { createBenchTenant } from './bench-tenant.js';
import { type OutputQueues, outputQueues } from './output-queues.js';
import { backendPids, type CpuGroups, cpuPer, cpuTimes, withApplicationName } from './process-cpu.js';
import { benchProducer } from './producer.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A realistic job body of `items` keys in bench-in (two renditions, metadata), numbered `index`. */
export function benchJobBody(index: number, items = 1): Buffer {
  const keys = Array.from({ length: items }, (_, item) => `catalog/2026/sku-${index}-${item}.jpg`);
  return Buffer.from(
    JSON.stringify({
      version: 1,
      input: keys.length === 1 ? { bucket: 'bench-in', key: keys[0] } : { bucket: 'bench-in', keys },
      output: { bucket: 'bench-out', prefix: 'cutouts/' },
      renditions: [{ kind: 'cutout', format: 'webp', quality: 90 }, { kind: 'mask' }],
      model: 'u2netp',
      metadata: { sku: `sku-${index}`, source: 'bench' },
    }),
  );
}

export interface GatewayEndToEndOptions {
  readonly algorithm: KeyAlgorithm;
  /** Jobs per mode. */
  readonly messages: number;
  /** Items per job. */
  readonly items: number;
  /** Writes a V8 CPU profile of each gateway process into this directory. */
  readonly cpuProfileDir?: string | undefined;
  /** Gateway processes consuming the one inbox, as a horizontal deployment runs them (default 1). */
  readonly gateways?: number;
  /** Another consumer in the gateway's place (default: the gateway, `workers/gateway.ts`). */
  readonly consumer?: ConsumerProcess;
  /**
   * Also binds a queue to the results exchange and counts what reaches it and the tasks queue: the
   * run fails when a job's task or event is missing or doubled, and each row gets `allOut`.
   */
  readonly countOutput?: boolean;
  /**
   * Declares every queue classic (durable, no x-arguments) instead of quorum: for bench stand-ins
   * only, the gateway declares its quorum queues itself and would refuse to start.
   */
  readonly classicQueues?: boolean;
}

/** A consumer process run with the gateway's environment (broker prefix, schema, settings). */
export interface ConsumerProcess {
  /** Script under the repository root, run with `node --import tsx`. */
  readonly script: string;
  /** More environment for it (it also gets the producer's key id in BENCH_PRODUCER_KEY_ID). */
  readonly env?: Readonly<Record<string, string>>;
  /** Printed on stdout once it consumes (or is about to). */
  readonly readyLine: string;
  /** Counts the jobs it admitted so far (its durable rows); undefined: the events counted out. */
  readonly admittedSql?: string;
  /** Whether it writes the gateway's task and outbox rows, drained after admission (the gateway). */
  readonly drainsOutbox: boolean;
}

const gatewayProcess: ConsumerProcess = {
  script: 'workers/gateway.ts',
  readyLine: 'gateway started',
  admittedSql: 'SELECT count(*) AS n FROM jobs',
  drainsOutbox: true,
};

export interface EndToEnd {
  algorithm: KeyAlgorithm;
  mode: 'backlog' | 'live';
  gateways: number;
  messages: number;
  items: number;
  admittedPerSecond: number;
  tasksPublishedPerSecond: number;
  eventsPublishedPerSecond: number;
  /** CPU ms per admitted job until the last was admitted: gateway, its postgres backends, the bench (producer) and its own backends, postgres, rabbitmq, machine. */
  cpuMsPerJob: Record<string, number>;
  /** With countOutput: until every task and result event was in its queue, jobs/s and CPU ms per job. */
  allOut?: { perSecond: number; cpuMsPerJob: Record<string, number> };
  loadAverage: number[];
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now();
}

const count = async (db: Database, sql: string) => Number((await db.query<{ n: string }>(sql))[0]!.n);

async function startGatewayProcess(
  consumer: ConsumerProcess,
  env: Record<string, string>,
  cpuProfileDir: string | undefined,
): Promise<{ child: ChildProcess; startedAt: number }> {
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', consumer.script], {
    cwd: root,
    env: { ...process.env, ...env, ...consumer.env, CLEARCUT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const startedAt = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(consumer.readyLine)) resolve(performance.now());
      if (output.length > 100_000) output = output.slice(-10_000);
    });
    child.once('exit', (code) =>
      reject(new Error(`${consumer.script} exited with ${code}:\n${output.slice(-2000)}`)),
    );
  });
  return { child, startedAt };
}

/** Gateway processes on a schema and broker prefix of their own, both modes; returns two rows. */
export async function measureGatewayEndToEnd(options: GatewayEndToEndOptions): Promise<EndToEnd[]> {
  const { algorithm, messages: messageCount, items: itemsPerJob } = options;
  const gatewayCount = options.gateways ?? 1;
  const consumer = options.consumer ?? gatewayProcess;
  const suffix = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    CLEARCUT_DATABASE_SCHEMA: `bench_gateway_${suffix}`,
    CLEARCUT_AMQP_PREFIX: `bench_gateway_${suffix}`,
    CLEARCUT_MASTER_KEY: process.env.CLEARCUT_MASTER_KEY ?? randomBytes(32).toString('base64'),
    CLEARCUT_GATEWAY_HTTP_PORT: '0',
    // The gateway admits only the models the deployment serves; the bench's jobs name u2netp.
    CLEARCUT_MODEL: 'u2netp',
    // Its PostgreSQL backends, told apart from everyone else's on a shared server (cpuMsPerJob).
    CLEARCUT_DATABASE_URL: withApplicationName(
      process.env.CLEARCUT_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
      `bench_gateway_${suffix}`,
    ),
  };
  const config = loadConfig({ ...process.env, ...env });
  // The bench's own connections (set-up, and polling counts while it measures) under a name of their
  // own, so their backends' CPU is not charged to the gateway's.
  const db = createDatabase({
    ...config.database,
    url: withApplicationName(config.database.url, `bench_gateway_${suffix}_bench`),
  });
  const bus = await connectAmqpBus(config.broker.url, { connectionName: 'bench gateway producer' });
  const names = topologyNames(config.broker.prefix);
  const channel = await bus.channel();
  const rows: EndToEnd[] = [];
  let gateways: { child: ChildProcess; startedAt: number }[] = [];
  let output: OutputQueues | undefined;
  try {
    await migrate(db);
    const tenant = await createBenchTenant(db);
    const producer = await benchProducer(db, config, tenant, 'bench', algorithm);
    env.BENCH_PRODUCER_KEY_ID = producer.keyId;
    const topology = gatewayTopology(names);
    await declareTopology(
      channel,
      options.classicQueues
        ? {
            ...topology,
            queues: topology.queues.map((queue) => ({ ...queue, type: 'classic', arguments: {} })),
          }
        : topology,
    );
    if (options.countOutput)
      output = await outputQueues(channel, names, options.classicQueues ? 'classic' : 'quorum');
    const admittedSoFar = async () => {
      if (consumer.admittedSql) return count(db, consumer.admittedSql);
      if (!output) throw new Error('a consumer without admittedSql needs countOutput');
      return (await output.counts()).events;
    };
    const publisher = await bus.publisher();
    let signed = 0;
    const sign = (n: number): OutboundMessage[] =>
      Array.from({ length: n }, () => producer.message(benchJobBody(++signed, itemsPerJob)));
    const publish = async (messages: OutboundMessage[]) => {
      for (let i = 0; i < messages.length; i += 1000) await publisher.publish(messages.slice(i, i + 1000));
    };
    const measure = async (
      mode: EndToEnd['mode'],
      startedAt: number,
      total: number,
      cpuAtStart: CpuGroups,
      /** The jobs this window covers: a backlog's less those admitted before the last gateway was up. */
      jobs = messageCount,
    ) => {
      const admitted = await waitFor(async () => (await admittedSoFar()) >= total, 'admission');
      const cpuMsPerJob = cpuPer(cpuAtStart, await cpuTimes(await pids()), jobs);
      const rate = (at: number) => Math.round((jobs * 1000) / (at - startedAt));
      const out = await output?.allOut(total, total * itemsPerJob);
      const allOut = out && {
        perSecond: rate(out.at),
        cpuMsPerJob: cpuPer(cpuAtStart, await cpuTimes(await pids()), jobs),
      };
      const published = consumer.drainsOutbox
        ? await waitFor(
            async () => (await count(db, 'SELECT count(*) AS n FROM tasks WHERE published_at IS NULL')) === 0,
            'task publication',
          )
        : (out?.at ?? admitted);
      const drained = consumer.drainsOutbox
        ? await waitFor(async () => (await count(db, 'SELECT count(*) AS n FROM outbox')) === 0, 'outbox')
        : (out?.at ?? admitted);
      rows.push({
        algorithm,
        mode,
        gateways: gatewayCount,
        messages: messageCount,
        items: itemsPerJob,
        admittedPerSecond: rate(admitted),
        tasksPublishedPerSecond: Math.round((jobs * itemsPerJob * 1000) / (published - startedAt)),
        eventsPublishedPerSecond: rate(drained),
        cpuMsPerJob,
        ...(allOut && { allOut }),
        loadAverage: loadavg(),
      });
      if (output) await output.purge();
      else await channel.purgeQueue(names.tasksQueue);
    };

    // Backlog: the whole flood waits in the inbox, then the gateways start. Those up first admit
    // some before the last is: the rate and CPU count from the last start, the jobs left then.
    await publish(sign(messageCount));
    gateways = await Promise.all(
      Array.from({ length: gatewayCount }, () => startGatewayProcess(consumer, env, options.cpuProfileDir)),
    );
    const pids = async () => ({
      gateway: gateways.map((g) => g.child.pid!),
      'postgres for the gateway': await backendPids(db, `bench_gateway_${suffix}`),
      'postgres for the bench': await backendPids(db, `bench_gateway_${suffix}_bench`),
      bench: process.pid,
    });
    const cpuAtStart = await cpuTimes(await pids());
    const before = await admittedSoFar();
    if (before > messageCount / 2) {
      throw new Error(
        `${before} of ${messageCount} jobs were admitted before the last gateway started: use more --messages`,
      );
    }
    const lastStart = Math.max(...gateways.map((g) => g.startedAt));
    await measure('backlog', lastStart, messageCount, cpuAtStart, messageCount - before);

    // Live: the gateway is running while this process signs and publishes.
    const live = sign(messageCount);
    const liveStart = performance.now();
    const liveCpu = await cpuTimes(await pids());
    await publish(live);
    await measure('live', liveStart, 2 * messageCount, liveCpu);

    for (const { child } of gateways) child.kill('SIGTERM');
    await Promise.all(gateways.map(({ child }) => once(child, 'exit')));
    await publisher.close();
  } finally {
    for (const { child } of gateways) if (child.exitCode === null) child.kill('SIGKILL');
    const { queues, exchanges } = gatewayTopology(names);
    for (const queue of queues) await channel.deleteQueue(queue.name).catch(() => {});
    await output?.remove();
    for (const exchange of exchanges) await channel.deleteExchange(exchange.name).catch(() => {});
    await bus.close();
    await db.query(`DROP SCHEMA IF EXISTS "${config.database.schema}" CASCADE`);
    await db.close();
  }
  return rows;
}
