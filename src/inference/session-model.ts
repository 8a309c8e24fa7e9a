// What the session thread loads: the model file itself, or, for a file with float16 weights, the
// same network widened to float32 (fp16-widening.ts says why: ~350 MiB less at the peak on IS-Net
// medium, same masks), written once to the temporary directory under its source's digest and
// loaded from there by path, so ONNX Runtime never holds a copy of the bytes beside its own.
// Published weights, synthetic stand-ins and our int8 variants are float32 by construction and
// are never read here: only a local or custom file is checked.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasFloat16Weights, widenFloat16Model } from '../models/fp16-widening.js';
import { findVariant } from '../models/model-variants.js';
import { listModels, type ResolvedModel } from '../models/registry.js';
import { collectGarbage } from './collect-garbage.js';

/** The path ONNX Runtime should load for `model`; `dir` holds widened copies (default: the OS's temp). */
export async function sessionModel(model: ResolvedModel, dir = tmpdir()): Promise<string> {
  if (!mayHoldFloat16(model)) return model.path;
  const widened = join(dir, `clearcut-fp32-${model.sha256}.onnx`);
  if (
    await stat(widened).then(
      (info) => info.isFile(),
      () => false,
    )
  )
    return widened;
  const chosen = await widenIfFloat16(model.path, widened);
  // The file's bytes and their decoded copies are garbage now, but nothing on this thread would
  // allocate enough to collect them while ONNX Runtime loads: without this they add ~400 MiB to
  // the worker's peak (measured on IS-Net medium).
  collectGarbage('major');
  return chosen;
}

async function widenIfFloat16(path: string, widened: string): Promise<string> {
  const bytes = await readFile(path);
  if (!hasFloat16Weights(bytes)) return path;
  const partial = `${widened}.${process.pid}.partial`;
  await writeFile(partial, widenFloat16Model(bytes).bytes);
  await rename(partial, widened);
  return widened;
}

function mayHoldFloat16(model: ResolvedModel): boolean {
  if (model.source === 'synthetic' || findVariant(model.spec.name)) return false;
  return !listModels().some((spec) => spec.sha256 === model.sha256);
}
