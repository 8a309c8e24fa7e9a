// The memory limit a worker can see: CLEARCUT_WORKER_MEMORY_LIMIT when set, else its cgroup's
// (v2 `memory.max`, v1 `memory/memory.limit_in_bytes`, under CLEARCUT_CGROUP_ROOT). Undefined when
// nothing limits it ("max" in v2, v1's near-2^63 "unlimited").
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MemoryLimit } from './memory-need.js';

/** v1 reports "no limit" as a page-rounded 2^63 − 1; anything this large is no limit. */
const unlimited = 2 ** 62;

export interface MemoryLimitSettings {
  /** CLEARCUT_WORKER_MEMORY_LIMIT in bytes. */
  readonly override?: number;
  /** CLEARCUT_CGROUP_ROOT, where the cgroup filesystem is mounted. */
  readonly cgroupRoot: string;
}

export async function visibleMemoryLimit(settings: MemoryLimitSettings): Promise<MemoryLimit | undefined> {
  if (settings.override !== undefined)
    return { bytes: settings.override, source: 'CLEARCUT_WORKER_MEMORY_LIMIT' };
  for (const file of [
    join(settings.cgroupRoot, 'memory.max'),
    join(settings.cgroupRoot, 'memory', 'memory.limit_in_bytes'),
  ]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const value = text.trim();
    if (value === 'max') return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`${file} holds "${value}", not a byte count or "max"`);
    const bytes = Number(value);
    return bytes >= unlimited ? undefined : { bytes, source: `cgroup limit in ${file}` };
  }
  return undefined;
}
