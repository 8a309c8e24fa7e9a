// Shared by the quantizer tests: the synthetic U²-Netp in memory, and small hand-made graphs.
import { writeSyntheticModel } from '../../models/synth/index.js';
import { indexGraph } from '../../src/quantize/graph-index.js';
import { normalizeModel } from '../../src/quantize/normalize.js';
import { decodeModel, type ModelProto } from '../../src/quantize/onnx-model.js';

let u2netp: Promise<Buffer> | undefined;

/** The ONNX bytes of the synthetic U²-Netp (seed 1), built once per test file. */
export function u2netpBytes(): Promise<Buffer> {
  u2netp ??= (async () => {
    const chunks: Buffer[] = [];
    await writeSyntheticModel('u2netp', 1, (chunk) => {
      chunks.push(Buffer.from(chunk)); // copies: the writer may reuse its buffers
    });
    return Buffer.concat(chunks);
  })();
  return u2netp;
}

export async function u2netpIndex() {
  const model: ModelProto = normalizeModel(decodeModel(await u2netpBytes()));
  return indexGraph(model.graph!);
}

export function opCounts(model: ModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph?.node ?? [])
    counts[node.opType ?? ''] = (counts[node.opType ?? ''] ?? 0) + 1;
  return counts;
}

export function metadataOf(model: ModelProto): Record<string, string> {
  return Object.fromEntries((model.metadataProps ?? []).map(({ key, value }) => [key ?? '', value ?? '']));
}
