// The PostgreSQL backend CPU of the floor's two statements (bench/support/floor-schema.ts) per job,
// measured as bench/gateway-statements.ts measures the gateway's: batches on ONE connection, the
// CPU of its backend from /proc before and after each statement, the first batches left out (warm-up).
// /proc counts in 10 ms ticks, about one statement's worth: the CPU is summed over all the batches.
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createFloorSchema, dropFloorSchema, floorStatements } from './floor-schema.js';
import { benchJobBody } from './gateway-end-to-end.js';
import { processCpuMs } from './process-cpu.js';

export interface FloorStatementCost {
  readonly batchSize: number;
  readonly batches: number;
  /** Backend CPU µs per job of the admission statement and of the one after the confirms. */
  readonly admitMicros: number;
  readonly publishedMicros: number;
}

export async function floorStatementCost(
  batchSize = 500,
  batches = 30,
  warmUp = 5,
): Promise<FloorStatementCost> {
  const schema = `bench_floor_${randomBytes(4).toString('hex')}`;
  const config = loadConfig(process.env);
  const admin = createDatabase(config.database);
  await createFloorSchema(admin, schema);
  const db = createDatabase({ ...config.database, schema, poolSize: 1 });
  let admitMs = 0;
  let publishedMs = 0;
  try {
    const backend = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    let job = 0;
    for (let batch = 0; batch < warmUp + batches; batch++) {
      const ids = Array.from({ length: batchSize }, () => `bench-${++job}`);
      const before = await processCpuMs(backend);
      const [inserted] = await db.query<{ tasks: string[]; events: string[] }>(floorStatements.admit, [
        'ck_bench',
        ids.map(() => randomBytes(16).toString('hex')),
        ids.map(() => Date.now() / 1000),
        'bench',
        300,
        ids,
        ids.map((_, i) => benchJobBody(job - batchSize + i + 1).toString()),
        ids.map((id) => `bench.${id}.accepted`),
        ids.map((id) => `{"version":1,"kind":"accepted","tenant":"bench","jobId":"${id}","items":1}`),
      ]);
      const between = await processCpuMs(backend);
      await db.query(floorStatements.published, [inserted!.tasks, inserted!.events]);
      const after = await processCpuMs(backend);
      if (batch < warmUp) continue;
      admitMs += between - before;
      publishedMs += after - between;
    }
  } finally {
    await db.close();
    await dropFloorSchema(admin, schema);
    await admin.close();
  }
  const micros = (ms: number) => Math.round(((ms * 1000) / (batches * batchSize)) * 10) / 10;
  return { batchSize, batches, admitMicros: micros(admitMs), publishedMicros: micros(publishedMs) };
}
