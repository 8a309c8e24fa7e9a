// Synthetic U²-Net models for tests: built on first request into .cache/ (git-ignored), reused after.
// Two vitest workers asking at once both build and rename identical bytes into place, so neither sees
// a partial file.
import { fileURLToPath } from 'node:url';
import type { Topology } from '../../models/synth/index.js';
import { ensureSyntheticModel } from '../../src/models/model-synthetic.js';
import { findModel, type ResolvedModel } from '../../src/models/registry.js';

export const testModelDir = fileURLToPath(new URL('../../.cache/models/', import.meta.url));

const built = new Map<Topology, Promise<ResolvedModel>>();

/** The synthetic stand-in for `topology` (seed 1) as resolveModel would return it without weights. */
export function syntheticModel(topology: Topology): Promise<ResolvedModel> {
  let model = built.get(topology);
  if (!model) {
    model = ensureSyntheticModel(`${testModelDir}synthetic`, topology).then(({ path, sha256 }) => ({
      spec: findModel(topology),
      path,
      sha256,
      source: 'synthetic' as const,
    }));
    built.set(topology, model);
  }
  return model;
}
