// The ONNX Runtime adapter of the quantizer: runs a float model (with extra outputs exposing the
// tensors being calibrated) in this thread. Calibration is a batch job, so blocking the event loop
// for the length of a run is acceptable here, unlike in the serving path (see ort-thread.ts).
import * as ort from 'onnxruntime-node';

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

export interface OptimizedGraphOptions {
  readonly threads: number;
  /** Where ONNX Runtime writes the graph after its optimisations (fusions into QLinear* kernels). */
  readonly optimizedModelFilePath: string;
}

/** Loads `modelPath` once so ONNX Runtime writes its optimised graph; used to check the fusions. */
export async function writeOptimizedGraph(modelPath: string, options: OptimizedGraphOptions): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: options.optimizedModelFilePath,
  });
  await session.release();
}
