import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findModel } from '../../src/models/registry.js';
import { visibleMemoryLimit } from '../../src/worker/memory-limit.js';
import { memoryNeed, memoryRefusal, workerBaseMiB } from '../../src/worker/memory-need.js';

const MiB = 2 ** 20;
const u2net = findModel('u2net').sessionMemoryMiB;
const u2netp = findModel('u2netp').sessionMemoryMiB;

describe('memoryNeed / memoryRefusal', () => {
  it('adds every served model to the worker base; an int8 variant counts at its base', () => {
    expect(memoryNeed(['u2net', 'u2netp-int8'])).toEqual({
      totalMiB: workerBaseMiB + u2net + u2netp,
      breakdown: `worker base ${workerBaseMiB} MiB + u2net ${u2net} MiB + u2netp-int8 ${u2netp} MiB`,
    });
  });

  it('passes a limit that holds the need, and no limit at all', () => {
    const need = workerBaseMiB + u2net;
    expect(memoryRefusal({ bytes: need * MiB, source: 'test' }, ['u2net'])).toBeUndefined();
    expect(memoryRefusal(undefined, ['u2net', 'isnet-general-use'])).toBeUndefined();
  });

  it('refuses one MiB less, naming the limit, where it was read, the need and the fix', () => {
    const need = workerBaseMiB + u2net;
    const message = memoryRefusal({ bytes: (need - 1) * MiB, source: 'cgroup limit in /x/memory.max' }, [
      'u2net',
    ]);
    expect(message).toContain(`memory limit is ${need - 1} MiB (cgroup limit in /x/memory.max)`);
    expect(message).toContain(`serving u2net needs ${need} MiB`);
    expect(message).toContain(`at least ${need}Mi`);
    expect(message).toContain('CLEARCUT_MODELS');
  });
});

describe('visibleMemoryLimit', () => {
  const dirs: string[] = [];
  const cgroup = async (files: Record<string, string>) => {
    const root = await mkdtemp(join(tmpdir(), 'clearcut-cgroup-'));
    dirs.push(root);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(root, name, '..'), { recursive: true });
      await writeFile(join(root, name), text);
    }
    return root;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('reads cgroup v2 memory.max, where "max" is no limit', async () => {
    const root = await cgroup({ 'memory.max': '1073741824\n' });
    expect(await visibleMemoryLimit({ cgroupRoot: root })).toEqual({
      bytes: 1073741824,
      source: `cgroup limit in ${join(root, 'memory.max')}`,
    });
    expect(await visibleMemoryLimit({ cgroupRoot: await cgroup({ 'memory.max': 'max\n' }) })).toBeUndefined();
  });

  it('falls back to cgroup v1, whose near-2^63 value is no limit', async () => {
    const v1 = await cgroup({ 'memory/memory.limit_in_bytes': '2147483648\n' });
    expect((await visibleMemoryLimit({ cgroupRoot: v1 }))?.bytes).toBe(2147483648);
    const open = await cgroup({ 'memory/memory.limit_in_bytes': '9223372036854771712\n' });
    expect(await visibleMemoryLimit({ cgroupRoot: open })).toBeUndefined();
  });

  it('prefers the configured override, and finds nothing without cgroup files', async () => {
    const root = await cgroup({ 'memory.max': '1073741824' });
    expect(await visibleMemoryLimit({ cgroupRoot: root, override: 512 * MiB })).toEqual({
      bytes: 512 * MiB,
      source: 'CLEARCUT_WORKER_MEMORY_LIMIT',
    });
    expect(await visibleMemoryLimit({ cgroupRoot: await cgroup({}) })).toBeUndefined();
  });

  it('refuses a file it cannot read as a limit, naming it', async () => {
    const root = await cgroup({ 'memory.max': 'lots' });
    await expect(visibleMemoryLimit({ cgroupRoot: root })).rejects.toThrow(
      `${join(root, 'memory.max')} holds "lots"`,
    );
  });
});
