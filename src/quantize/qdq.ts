// Rewrites a float graph into QDQ form from a plan and the activations' quantization parameters:
// per-output-channel symmetric int8 conv weights, int32 biases at the input × weight scale, and a
// uint8 QuantizeLinear → DequantizeLinear pair after every planned activation.
import { type BiasShifts, correctedBias } from './bias-correction.js';
import type { GraphIndex } from './graph-index.js';
import {
  dimsOf,
  elementCount,
  floatTensor,
  floatValues,
  type GraphProto,
  int8Tensor,
  int32Tensor,
  intAttribute,
  makeNode,
  type NodeProto,
  type TensorProto,
  uint8Tensor,
} from './onnx-model.js';
import type { QuantizationPlan } from './plan.js';
import type { QuantParams } from './ranges.js';

/** int8 weights use −127..127: symmetric, so the zero point is 0 and −128 never appears. */
const weightLevels = 127;
const int32Limit = 2 ** 31 - 1;

export interface RewriteStats {
  /** Conv biases whose int32 value had to be clipped (tiny input or weight scales). */
  readonly clippedBiases: number;
}

export function rewriteToQdq(
  graph: GraphProto,
  index: GraphIndex,
  plan: QuantizationPlan,
  params: ReadonlyMap<string, QuantParams>,
  biasShifts: BiasShifts = new Map(),
): { graph: GraphProto; stats: RewriteStats } {
  const paramsOf = (tensor: string): QuantParams => {
    const found = params.get(tensor);
    if (!found) throw new Error(`no quantization parameters for activation ${tensor}`);
    return found;
  };
  const planned = new Set(plan.activations.map((activation) => activation.tensor));
  const dequantized = (tensor: string) => (planned.has(tensor) ? `${tensor}_dequantized` : tensor);
  const replaced = new Set<string>();
  const initializers: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let clippedBiases = 0;

  const addPair = (tensor: string) => {
    const { scale, zeroPoint } = paramsOf(tensor);
    const scaleName = `${tensor}_scale`;
    const zeroName = `${tensor}_zero_point`;
    initializers.push(
      floatTensor(scaleName, [], Float32Array.of(scale)),
      uint8Tensor(zeroName, [], Uint8Array.of(zeroPoint)),
    );
    nodes.push(
      makeNode(
        'QuantizeLinear',
        `${tensor}_QuantizeLinear`,
        [tensor, scaleName, zeroName],
        [`${tensor}_quantized`],
      ),
      makeNode(
        'DequantizeLinear',
        `${tensor}_DequantizeLinear`,
        [`${tensor}_quantized`, scaleName, zeroName],
        [dequantized(tensor)],
      ),
    );
  };

  const quantizeConv = (node: NodeProto): string[] => {
    const [data = '', weightName = '', biasName = ''] = node.input ?? [];
    const weight = index.initializers.get(weightName)!;
    const { values, scales } = quantizeWeight(weight);
    const channels = scales.length;
    replaced.add(weightName);
    initializers.push(
      int8Tensor(`${weightName}_quantized`, dimsOf(weight), values),
      floatTensor(`${weightName}_scale`, [channels], scales),
      int8Tensor(`${weightName}_zero_point`, [channels], new Int8Array(channels)),
    );
    nodes.push(perChannelDequantize(weightName));
    if (!biasName) return [dequantized(data), `${weightName}_dequantized`];
    const inputScale = paramsOf(data).scale;
    const bias = correctedBias(floatValues(index.initializers.get(biasName)!), biasShifts.get(biasName));
    const biasScales = scales.map((scale) => scale * inputScale);
    const biasValues = new Int32Array(channels);
    for (let channel = 0; channel < channels; channel++) {
      const value = Math.round(bias[channel]! / biasScales[channel]!);
      if (Math.abs(value) > int32Limit) clippedBiases++;
      biasValues[channel] = Math.max(-int32Limit, Math.min(int32Limit, value));
    }
    replaced.add(biasName);
    initializers.push(
      int32Tensor(`${biasName}_quantized`, [channels], biasValues),
      floatTensor(`${biasName}_scale`, [channels], biasScales),
      int32Tensor(`${biasName}_zero_point`, [channels], new Int32Array(channels)),
    );
    nodes.push(perChannelDequantize(biasName));
    return [dequantized(data), `${weightName}_dequantized`, `${biasName}_dequantized`];
  };

  for (const input of index.graphInputs) if (planned.has(input)) addPair(input);
  // A float node reads the int8 path only where it must: after a quantized producer, which ORT
  // fuses only when every reader of its output goes through the DequantizeLinear. Otherwise it
  // keeps the exact float value.
  const readFloat = (input: string) => {
    const producer = index.producer.get(input);
    return producer !== undefined && plan.quantized.has(producer) ? dequantized(input) : input;
  };
  for (const node of index.nodes) {
    const quantized = plan.quantized.has(node);
    const inputs =
      node.opType === 'Conv' && quantized
        ? quantizeConv(node)
        : (node.input ?? []).map((input) =>
            !input ? input : quantized ? dequantized(input) : readFloat(input),
          );
    nodes.push({ ...node, input: inputs });
    for (const output of node.output ?? []) if (planned.has(output)) addPair(output);
  }
  const initializer = [
    ...(graph.initializer ?? []).filter((tensor) => !replaced.has(tensor.name ?? '')),
    ...initializers,
  ];
  return { graph: { ...graph, node: nodes, initializer, valueInfo: [] }, stats: { clippedBiases } };
}

function perChannelDequantize(tensor: string): NodeProto {
  return makeNode(
    'DequantizeLinear',
    `${tensor}_DequantizeLinear`,
    [`${tensor}_quantized`, `${tensor}_scale`, `${tensor}_zero_point`],
    [`${tensor}_dequantized`],
    [intAttribute('axis', 0)],
  );
}

/** Per output channel (axis 0): scale = max|w| / 127, values rounded to −127..127. */
export function quantizeWeight(weight: TensorProto): { values: Int8Array; scales: Float32Array } {
  const dims = dimsOf(weight);
  const channels = dims[0]!;
  const perChannel = elementCount(dims) / channels;
  const source = floatValues(weight);
  const values = new Int8Array(source.length);
  const scales = new Float32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const start = channel * perChannel;
    let largest = 0;
    for (let i = start; i < start + perChannel; i++) largest = Math.max(largest, Math.abs(source[i]!));
    // float32 scale, as stored: the rounding below must use the same value ORT will multiply by.
    const scale = Math.fround(largest > 0 ? largest / weightLevels : 1);
    scales[channel] = scale;
    for (let i = start; i < start + perChannel; i++) {
      values[i] = Math.max(-weightLevels, Math.min(weightLevels, Math.round(source[i]! / scale)));
    }
  }
  return { values, scales };
}
