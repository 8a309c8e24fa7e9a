// What the session thread loads: the model file itself, or, for a file with float16 weights, the
// same network widened to float32 in memory (fp16-widening.ts says why: ~350 MiB less at the peak
// on IS-Net medium, same masks). Published weights, synthetic stand-ins and our int8 variants are
// float32 by construction and are never read here: only a local or custom file is checked.
import { readFile } from 'node:fs/promises';
import { hasFloat16Weights, widenFloat16Model } from '../models/fp16-widening.js';
import { findVariant } from '../models/model-variants.js';
import { listModels, type ResolvedModel } from '../models/registry.js';

export async function sessionModel(model: ResolvedModel): Promise<string | Uint8Array> {
  if (!mayHoldFloat16(model)) return model.path;
  const bytes = await readFile(model.path);
  return hasFloat16Weights(bytes) ? widenFloat16Model(bytes).bytes : model.path;
}

function mayHoldFloat16(model: ResolvedModel): boolean {
  if (model.source === 'synthetic' || findVariant(model.spec.name)) return false;
  return !listModels().some((spec) => spec.sha256 === model.sha256);
}
