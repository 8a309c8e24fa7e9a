// glibc reads its malloc tuning from the environment once, at process start, so a worker cannot
// set it for itself: the image does (infra/Dockerfile). A worker started elsewhere without it
// says so, because the sizing in docs/worker.md was measured with it.

/** The settings the image starts workers with, their GLIBC_TUNABLES names, and why each matters. */
export const recommendedMalloc = {
  MALLOC_ARENA_MAX: {
    value: '2',
    tunable: 'glibc.malloc.arena_max',
    without: 'a malloc arena per thread: ~100 MiB more peak',
  },
  MALLOC_MMAP_THRESHOLD_: {
    value: '1048576',
    tunable: 'glibc.malloc.mmap_threshold',
    without: "the model's load buffers kept in the heap: ~185 MiB more peak",
  },
} as const;

export type MallocVariable = keyof typeof recommendedMalloc;

/** Whether this process runs on glibc (elsewhere, as on musl or macOS, the settings mean nothing). */
export function runsOnGlibc(): boolean {
  // The report's header names the glibc version; its network section (every open socket) is not
  // needed. (excludeNetwork is Node's, from 20.13; @types/node does not list it yet.)
  const report = process.report as typeof process.report & { excludeNetwork: boolean };
  const excludeNetwork = report.excludeNetwork;
  report.excludeNetwork = true;
  try {
    const { header } = report.getReport() as { header?: { glibcVersionRuntime?: string } };
    return header?.glibcVersionRuntime !== undefined;
  } finally {
    report.excludeNetwork = excludeNetwork;
  }
}

/**
 * The recommended settings this environment leaves unset (in a fixed order; either form counts:
 * the variable or its GLIBC_TUNABLES entry) and a warning naming what to set; undefined when all
 * are set.
 */
export function mallocWarning(
  env: NodeJS.ProcessEnv,
): { readonly unset: MallocVariable[]; readonly message: string } | undefined {
  const tunables = (env.GLIBC_TUNABLES ?? '').split(':').map((entry) => entry.split('=')[0]);
  const unset = (Object.keys(recommendedMalloc) as MallocVariable[]).filter(
    (name) => !env[name] && !tunables.includes(recommendedMalloc[name].tunable),
  );
  if (unset.length === 0) return undefined;
  const costs = unset.map((name) => `${name} (${recommendedMalloc[name].without})`).join('; ');
  const fix = unset.map((name) => `${name}=${recommendedMalloc[name].value}`).join(' ');
  return {
    unset,
    message: `glibc malloc settings not set: ${costs}. Start the worker with ${fix}, as the image does (docs/worker.md)`,
  };
}
