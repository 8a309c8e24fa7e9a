// Whether a worker's memory limit holds the models it is configured to serve. Pure: the limit and
// the models come in, a refusal message (or nothing) goes out. The figures are measured, not
// estimated: each published model's sessionMemoryMiB (models/registry.ts) and the worker's own
// base below, both from bench:pipeline and bench:peer (docs/worker.md, Sizing).
import { findVariant } from '../models/model-variants.js';
import { findModel } from '../models/registry.js';

/**
 * A worker's memory apart from its ONNX Runtime sessions, in MiB: Node, the AMQP, PostgreSQL and S3
 * clients, sharp, and the images in flight (two 2000×2000 images in the gate, one rendering),
 * measured as the worker's peak RSS (u2net, bench:pipeline: at most 886 MiB) minus u2net's session
 * figure (700), rounded up. Larger sources need more (docs/worker.md, Sizing).
 */
export const workerBaseMiB = 200;

export interface MemoryNeed {
  readonly totalMiB: number;
  /** "worker base 200 MiB + u2net 700 MiB" */
  readonly breakdown: string;
}

/** What serving `models` together needs at the peak (an int8 variant counts at its base's figure). */
export function memoryNeed(models: readonly string[]): MemoryNeed {
  const parts = models.map((name) => ({
    name,
    mib: findModel(findVariant(name)?.base ?? name).sessionMemoryMiB,
  }));
  return {
    totalMiB: workerBaseMiB + parts.reduce((sum, part) => sum + part.mib, 0),
    breakdown: [
      `worker base ${workerBaseMiB} MiB`,
      ...parts.map((part) => `${part.name} ${part.mib} MiB`),
    ].join(' + '),
  };
}

/** The limit a worker can see, and where it was read (said in the refusal). */
export interface MemoryLimit {
  readonly bytes: number;
  readonly source: string;
}

/** Undefined when `limit` holds `models`; otherwise why not and what to change. */
export function memoryRefusal(limit: MemoryLimit | undefined, models: readonly string[]): string | undefined {
  if (!limit) return undefined;
  const need = memoryNeed(models);
  const limitMiB = Math.floor(limit.bytes / 2 ** 20);
  if (limitMiB >= need.totalMiB) return undefined;
  return (
    `The worker's memory limit is ${limitMiB} MiB (${limit.source}), but serving ${models.join(', ')} needs ` +
    `${need.totalMiB} MiB at its peak (${need.breakdown}; measured, see docs/worker.md, Sizing). ` +
    `Raise the limit to at least ${need.totalMiB}Mi (Kubernetes: resources.limits.memory), or serve fewer models (CLEARCUT_MODELS).`
  );
}
