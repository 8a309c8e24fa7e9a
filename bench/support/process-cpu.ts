import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Queryable } from '../../src/db/database.js';

// CPU time (user + system) of process groups, from /proc: where a benchmark's cores go. RabbitMQ
// and the PostgreSQL server are shared by everyone on the machine, so `rabbitmq` and `postgres`
// include others' work (and `postgres` loses the CPU of backends that exit between two readings,
// so it can even come out negative); a group of backend pids (backendPids) counts only the backends whose connections carry that
// application_name (see withApplicationName), i.e. the statements of the process measured.

const ticksPerSecond = 100; // USER_HZ on Linux

export interface CpuGroups {
  /** Milliseconds of CPU by group name since the process (or system) started. */
  readonly byGroup: Record<string, number>;
  /** Milliseconds of CPU of the whole machine (all cores, not idle). */
  readonly machine: number;
}

/** `url` with an application_name, so the backends serving its connections can be told apart. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/** PostgreSQL backends by application_name, for cpuTimes' `pids`. */
export async function backendPids(db: Queryable, applicationName: string): Promise<number[]> {
  const rows = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [applicationName],
  );
  return rows.map((row) => row.pid);
}

/** User + system CPU ms in a /proc/<pid>/stat line. */
function statCpuMs(stat: string): number {
  // The command name is in parentheses and may hold spaces: fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** CPU ms of one process so far (10 ms ticks: sum it over many calls). */
export async function processCpuMs(pid: number): Promise<number> {
  return statCpuMs(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * `pids` names processes of our own (a name may stand for several: the backends of one process);
 * `postgres` and `rabbitmq` are found by their command name.
 */
export async function cpuTimes(
  pids: Record<string, number | readonly number[] | undefined>,
): Promise<CpuGroups> {
  const byGroup: Record<string, number> = { postgres: 0, rabbitmq: 0 };
  const own = new Map<number, string>();
  for (const [name, pid] of Object.entries(pids)) {
    for (const one of pid === undefined ? [] : [pid].flat()) own.set(one, name);
    byGroup[name] = 0;
  }
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ms = statCpuMs(stat);
    // A backend of ours counts in its own group and in the server's.
    const server = comm === 'postgres' ? 'postgres' : comm === 'beam.smp' ? 'rabbitmq' : undefined;
    for (const group of new Set([own.get(pid), server])) {
      if (group !== undefined) byGroup[group] = (byGroup[group] ?? 0) + ms;
    }
  }
  const [cpu] = (await readFile('/proc/stat', 'utf8')).split('\n');
  const [user, nice, system, , , irq, softirq, steal] = cpu!.split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { byGroup, machine: (busy * 1000) / ticksPerSecond };
}

/** CPU ms per `units` between two readings, by group, plus the machine's and the cores available. */
export function cpuPer(before: CpuGroups, after: CpuGroups, units: number): Record<string, number> {
  const per = (ms: number) => Math.round((ms / units) * 1000) / 1000;
  const result: Record<string, number> = {};
  for (const [group, ms] of Object.entries(after.byGroup))
    result[group] = per(ms - (before.byGroup[group] ?? 0));
  result.machine = per(after.machine - before.machine);
  result.cores = availableParallelism();
  return result;
}
