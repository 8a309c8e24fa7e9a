import { describe, expect, it } from 'vitest';
import { mallocWarning } from '../../src/worker/malloc-settings.js';

describe('mallocWarning', () => {
  it('is quiet when both settings are there, whatever their values', () => {
    expect(mallocWarning({ MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '2097152' })).toBeUndefined();
  });

  it('names each unset variable, what it costs and the value to set', () => {
    expect(mallocWarning({ PATH: '/usr/bin' })).toEqual({
      unset: ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'],
      message:
        "glibc malloc settings not set: MALLOC_ARENA_MAX (a malloc arena per thread: ~100 MiB more peak); MALLOC_MMAP_THRESHOLD_ (the model's load buffers kept in the heap: ~185 MiB more peak). Start the worker with MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576, as the image does (docs/worker.md)",
    });
  });

  it('counts an empty value as unset and names only what is missing', () => {
    const warning = mallocWarning({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '' });
    expect(warning?.unset).toEqual(['MALLOC_MMAP_THRESHOLD_']);
    expect(warning?.message).toContain('Start the worker with MALLOC_MMAP_THRESHOLD_=1048576,');
    expect(warning?.message).not.toContain('MALLOC_ARENA_MAX');
  });

  it('takes the GLIBC_TUNABLES form of a setting as set', () => {
    const tunables = 'glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max=2';
    expect(mallocWarning({ GLIBC_TUNABLES: tunables })).toBeUndefined();
    expect(mallocWarning({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })?.unset).toEqual([
      'MALLOC_MMAP_THRESHOLD_',
    ]);
  });
});
