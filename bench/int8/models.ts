// The fp32 / int8 pairs bench:int8 compares: the synthetic U²-Net and U²-Netp through the registry
// (`u2net` and `u2net-int8`, exactly what a worker resolves), and the real IS-Net weights that the
// peer benchmark reassembles (models/weights/peer/isnet-medium-fp32.onnx), quantized beside them
// with the `isnet-general-use-int8` recipe.
import { loadConfig } from '../../src/config.js';
import { resolveLocalModel } from '../../src/models/local-model.js';
import {
  currentQuantized,
  generatedCalibration,
  quantizedPathFor,
  quantizeToFile,
} from '../../src/models/model-quantized.js';
import { findVariant } from '../../src/models/model-variants.js';
import { type ResolvedModel, resolveModel } from '../../src/models/registry.js';
import { ensurePeerIsnetModel, peerIsnetFamily } from '../peer-support/isnet-model.js';

export interface ModelPair {
  readonly label: string;
  /** Real weights (masks mean something) or a synthetic stand-in (speed only). */
  readonly weights: 'real' | 'synthetic';
  readonly fp32: ResolvedModel;
  readonly int8: ResolvedModel;
}

export const pairNames = ['u2net', 'u2netp', 'isnet'] as const;
export type PairName = (typeof pairNames)[number];

export async function preparePair(name: PairName, log: (line: string) => void): Promise<ModelPair> {
  const progress = (message: string) => log(`  ${message}`);
  if (name === 'isnet') return isnetPair(progress, log);
  const config = loadConfig(process.env).models;
  const fp32 = await resolveModel(config, name);
  log(`${name}-int8: resolving (built from ${fp32.path} when absent or stale)...`);
  const int8 = await resolveModel(config, `${name}-int8`, { onProgress: progress });
  return {
    label: `${name} (synthetic)`,
    weights: fp32.source === 'synthetic' ? 'synthetic' : 'real',
    fp32,
    int8,
  };
}

async function isnetPair(
  progress: (message: string) => void,
  log: (line: string) => void,
): Promise<ModelPair> {
  const source = await ensurePeerIsnetModel('medium-fp32', { log });
  const int8 = await ensureIsnetInt8(progress, log);
  return {
    label: 'isnet-general-use (real weights)',
    weights: 'real',
    fp32: await resolveLocalModel(source.path, peerIsnetFamily),
    int8: await resolveLocalModel(int8.path, peerIsnetFamily),
  };
}

/**
 * The real IS-Net weights (the peer's `isnet-medium`, widened to fp32) quantized beside them with
 * the `isnet-general-use-int8` recipe, rebuilt when the fp32 file or the recipe changed. Also what
 * bench:peer runs as its `medium-int8` variant.
 */
export async function ensureIsnetInt8(
  progress: (message: string) => void,
  log: (line: string) => void,
): Promise<{ readonly path: string; readonly sha256: string }> {
  const source = await ensurePeerIsnetModel('medium-fp32', { log });
  const variant = findVariant(`${peerIsnetFamily}-int8`)!;
  const out = quantizedPathFor(source.path);
  const current = await currentQuantized(out, source.sha256, variant.recipe);
  if (current) return { path: out, sha256: current.sha256 };
  log(`quantizing ${source.path} with the ${variant.name} recipe (minutes: IS-Net runs at 1024×1024)...`);
  const built = await quantizeToFile({
    source: { name: variant.base, path: source.path, sha256: source.sha256 },
    out,
    profile: variant,
    recipe: variant.recipe,
    calibration: await generatedCalibration(variant.recipe.calibrationImages),
    onProgress: progress,
  });
  return { path: out, sha256: built.sha256 };
}
