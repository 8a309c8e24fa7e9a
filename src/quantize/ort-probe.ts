// The ONNX Runtime adapter of the quantizer: runs a float model (with extra outputs exposing the
// tensors being calibrated) in this thread. Calibration is a batch job, so blocking the event loop
// for the length of a run is acceptable here, unlike in the serving path (see ort-thread.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel } from './onnx-model.js';

export type ProbeValues = ReadonlyMap<string, Float32Array | BigInt64Array>;

export interface TensorProbe {
  /** Runs the model on one input tensor and returns the named outputs. */
  run(input: Float32Array, dims: readonly number[], outputs: readonly string[]): Promise<ProbeValues>;
  close(): Promise<void>;
}

export type OpenProbe = (model: Uint8Array, threads: number) => Promise<TensorProbe>;

export const openOrtProbe: OpenProbe = async (model, threads) => {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0]!;
  return {
    async run(input, dims, outputs) {
      const results = await session.run({ [inputName]: new ort.Tensor('float32', input, [...dims]) }, [
        ...outputs,
      ]);
      return new Map(
        outputs.map((name) => [name, results[name]!.data as Float32Array | BigInt64Array] as const),
      );
    },
    close: () => session.release(),
  };
};

/**
 * How many nodes of each op type ONNX Runtime runs after optimising the model at `modelPath`
 * (QLinearConv, QLinearConcat, ...): the proof that a QDQ graph fuses into int8 kernels. ORT writes
 * the optimised graph to a temporary file (SessionOptions.optimizedModelFilePath), read back here.
 */
export async function optimizedOpCounts(modelPath: string, threads: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'clearcut-optimized-'));
  try {
    const optimizedModelFilePath = join(dir, 'optimized.onnx');
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      optimizedModelFilePath,
      // ORT warns that an 'all'-level graph is tied to this machine: true, and why it is only counted.
      logSeverityLevel: 3,
    });
    await session.release();
    const counts: Record<string, number> = {};
    for (const node of decodeModel(await readFile(optimizedModelFilePath)).graph?.node ?? []) {
      counts[node.opType ?? ''] = (counts[node.opType ?? ''] ?? 0) + 1;
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
