// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization", its empirical form): the
// int8 network's convolutions are biased, on average, per output channel — rounding the weights
// shifts E[W x], and upstream clipping and rounding shift x. Measured on calibration inputs as the
// per-channel mean of each quantized conv's output in the QDQ model minus the same mean in the float
// model, and subtracted from that conv's bias. The QDQ model is run as ONNX Runtime reads it with a
// ReduceMean on every conv output: that extra reader stops the int8 fusion, so each conv runs in
// float on dequantized inputs and weights, which is the int8 arithmetic up to float rounding.
import type { CalibrationInput } from './calibrate.js';
import {
  encodeModel,
  floatValueInfo,
  type GraphProto,
  int64Tensor,
  intAttribute,
  intsAttribute,
  type ModelProto,
  makeNode,
  type NodeProto,
} from './onnx-model.js';
import type { OpenProbe } from './ort-probe.js';

/** Per bias initializer: the mean shift of each output channel, to subtract from the bias. */
export type BiasShifts = ReadonlyMap<string, Float32Array>;

/**
 * Mean output shift of every conv in `convs` (each with a bias) between `quantized` and `float`, over
 * `inputs`. Both graphs must name the convs' outputs alike (the QDQ rewrite keeps them).
 */
export async function measureBiasShifts(
  float: ModelProto,
  quantized: ModelProto,
  convs: readonly NodeProto[],
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  options: { readonly threads: number; readonly onProgress?: (message: string) => void },
): Promise<Map<string, Float32Array>> {
  const withBias = convs.filter((node) => (node.input ?? [])[2]);
  const floatMeans = await channelMeans(float, withBias, inputs, openProbe, options, 'float');
  const quantizedMeans = await channelMeans(quantized, withBias, inputs, openProbe, options, 'int8');
  return new Map(
    withBias.map((node, position) => {
      const shift = quantizedMeans[position]!.map((mean, channel) => mean - floatMeans[position]![channel]!);
      return [node.input![2]!, shift] as const;
    }),
  );
}

/** `a` + `b` per bias (a correction measured on a model that already had `a` applied). */
export function addShifts(a: BiasShifts, b: BiasShifts): Map<string, Float32Array> {
  const sum = new Map(a);
  for (const [bias, shift] of b) {
    const before = sum.get(bias);
    sum.set(bias, before ? before.map((value, channel) => value + shift[channel]!) : shift);
  }
  return sum;
}

/** The bias values with `shift` taken off (a bias without a shift is returned as it is). */
export function correctedBias(bias: Float32Array, shift: Float32Array | undefined): Float32Array {
  if (!shift) return bias;
  if (shift.length !== bias.length) {
    throw new RangeError(`bias shift has ${shift.length} channels, the bias ${bias.length}`);
  }
  return bias.map((value, channel) => value - shift[channel]!);
}

async function channelMeans(
  model: ModelProto,
  convs: readonly NodeProto[],
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  options: { readonly threads: number; readonly onProgress?: (message: string) => void },
  label: string,
): Promise<Float32Array[]> {
  const graph = model.graph as GraphProto;
  const opset = Number(
    (model.opsetImport ?? []).find((entry) => !entry.domain || entry.domain === 'ai.onnx')?.version ?? 13,
  );
  // ReduceMean over N, H and W; its axes became an input in opset 18.
  const axesName = 'clearcut_bias_correction_axes';
  const names = convs.map((node) => `${node.output![0]}__bias_correction_mean`);
  const nodes = convs.map((node, position) =>
    opset >= 18
      ? makeNode(
          'ReduceMean',
          names[position]!,
          [node.output![0]!, axesName],
          [names[position]!],
          [intAttribute('keepdims', 0)],
        )
      : makeNode(
          'ReduceMean',
          names[position]!,
          [node.output![0]!],
          [names[position]!],
          [intsAttribute('axes', [0, 2, 3]), intAttribute('keepdims', 0)],
        ),
  );
  const probed = encodeModel({
    ...model,
    graph: {
      ...graph,
      node: [...(graph.node ?? []), ...nodes],
      initializer: [
        ...(graph.initializer ?? []),
        ...(opset >= 18 ? [int64Tensor(axesName, [3], BigInt64Array.of(0n, 2n, 3n))] : []),
      ],
      output: [...(graph.output ?? []), ...names.map(floatValueInfo)],
    },
  });
  const probe = await openProbe(probed, options.threads);
  const sums: Float64Array[] = [];
  try {
    for (const [position, input] of inputs.entries()) {
      options.onProgress?.(`bias correction: ${label} means, image ${position + 1} of ${inputs.length}`);
      const values = await probe.run(input.data, input.dims, names);
      names.forEach((name, conv) => {
        const means = values.get(name) as Float32Array;
        const sum = sums[conv] ?? new Float64Array(means.length);
        for (let channel = 0; channel < means.length; channel++) sum[channel]! += means[channel]!;
        sums[conv] = sum;
      });
    }
  } finally {
    await probe.close();
  }
  return sums.map((sum) => Float32Array.from(sum, (value) => value / inputs.length));
}
