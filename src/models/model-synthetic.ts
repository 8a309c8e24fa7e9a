// Synthetic stand-ins for models whose weights are absent: built once per topology and seed, then reused.
import { join } from 'node:path';
import { type Topology, writeSyntheticModel } from '../../models/synth/index.js';
import { type FileDigest, fileDigest } from './model-digest.js';
import { writeFileAtomically } from './model-file-writer.js';

/** Seed of the stand-in that resolveModel uses, so every process on a machine loads the same file. */
export const defaultSyntheticSeed = 1;

export interface SyntheticFile {
  readonly path: string;
  readonly sha256: string;
}

export function syntheticFileName(topology: Topology, seed: number): string {
  return `${topology}-seed${seed}.onnx`;
}

/** Builds the synthetic model into `path` (temp + rename) and returns its digest. */
export function buildSyntheticFile(topology: Topology, seed: number, path: string): Promise<FileDigest> {
  return writeFileAtomically(path, async (sink) => {
    await writeSyntheticModel(topology, seed, sink);
  });
}

/**
 * `<dir>/<topology>-seed<seed>.onnx`, built if absent. Two processes racing both build and rename the
 * same deterministic bytes into place, so neither ever loads a partial or mixed file.
 */
export function ensureSyntheticModel(
  dir: string,
  topology: Topology,
  seed = defaultSyntheticSeed,
): Promise<SyntheticFile> {
  const path = join(dir, syntheticFileName(topology, seed));
  // Within one process, callers share one build instead of each generating 176 MB.
  let pending = inFlight.get(path);
  if (!pending) {
    pending = (async () => {
      const digest = (await fileDigest(path)) ?? (await buildSyntheticFile(topology, seed, path));
      return { path, sha256: digest.sha256 };
    })().finally(() => inFlight.delete(path));
    inFlight.set(path, pending);
  }
  return pending;
}

const inFlight = new Map<string, Promise<SyntheticFile>>();
