import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

// CPU time (user + system) of process groups, from /proc: where a benchmark's cores go. PostgreSQL
// and RabbitMQ are shared by everyone on the machine, so their share includes others' work.

const ticksPerSecond = 100; // USER_HZ on Linux

export interface CpuGroups {
  /** Milliseconds of CPU by group name since the process (or system) started. */
  readonly byGroup: Record<string, number>;
  /** Milliseconds of CPU of the whole machine (all cores, not idle). */
  readonly machine: number;
}

/** `pids` names processes of our own; `postgres` and `rabbitmq` are found by their command name. */
export async function cpuTimes(pids: Record<string, number | undefined>): Promise<CpuGroups> {
  const byGroup: Record<string, number> = { postgres: 0, rabbitmq: 0 };
  const own = new Map(
    Object.entries(pids).flatMap(([name, pid]) => (pid === undefined ? [] : [[pid, name]])),
  );
  for (const name of own.values()) byGroup[name] = 0;
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // The command name is in parentheses and may hold spaces: fields are counted after it.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    const group =
      own.get(pid) ?? (comm === 'postgres' ? 'postgres' : comm === 'beam.smp' ? 'rabbitmq' : undefined);
    if (group !== undefined) byGroup[group] = (byGroup[group] ?? 0) + ms;
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
