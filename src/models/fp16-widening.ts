// Turns an fp16 ONNX model (float16 weights, float32 inputs and outputs, Casts at the boundaries, as
// onnxconverter-common's keep_io_types writes it) into the same network in float32. Every half value
// is exactly representable in float32, so the weights are unchanged; Casts to float16 become Casts to
// float32, which ONNX Runtime removes as no-ops. The result is the fp32 graph a quantizer starts from,
// and what the engine runs: on a CPU without fp16 kernels ONNX Runtime wraps every fp16 node in Casts
// and keeps both widths of weights and activations (IS-Net medium: 1,236 vs 891 MiB peak, same masks).
import {
  DataType,
  decodeModel,
  encodeModel,
  floatValues,
  type GraphProto,
  type TensorProto,
  type ValueInfoProto,
} from '../quantize/onnx-model.js';

const { FLOAT, FLOAT16 } = DataType;

export interface WidenedModel {
  readonly bytes: Uint8Array;
  /** Tensors (initializers and constants) converted, and Cast nodes retargeted. */
  readonly tensors: number;
  readonly casts: number;
}

/** Whether the ONNX file `bytes` holds float16 weights (then widenFloat16Model applies). */
export function hasFloat16Weights(bytes: Uint8Array): boolean {
  const graph = decodeModel(bytes).graph;
  return (graph?.initializer ?? []).some((tensor) => tensor.dataType === FLOAT16);
}

export function widenFloat16Model(bytes: Uint8Array): WidenedModel {
  const model = decodeModel(bytes);
  if (!model.graph) throw new Error('the file holds no ONNX graph');
  const counts = { tensors: 0, casts: 0 };
  widenGraph(model.graph, counts);
  if (counts.tensors === 0) throw new Error('the model has no float16 tensors: it is not an fp16 model');
  model.producerName = `${model.producerName ?? ''}+clearcut-fp32`;
  return { bytes: encodeModel(model), ...counts };
}

function widenGraph(graph: GraphProto, counts: { tensors: number; casts: number }): void {
  for (const tensor of graph.initializer ?? []) if (widenTensor(tensor)) counts.tensors++;
  for (const info of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])])
    widenValueInfo(info);
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.t && widenTensor(attribute.t)) counts.tensors++;
      for (const tensor of attribute.tensors ?? []) if (widenTensor(tensor)) counts.tensors++;
      if (attribute.g) widenGraph(attribute.g, counts);
      for (const nested of attribute.graphs ?? []) widenGraph(nested, counts);
      if (node.opType === 'Cast' && attribute.name === 'to' && Number(attribute.i) === FLOAT16) {
        attribute.i = FLOAT;
        counts.casts++;
      }
    }
  }
}

function widenValueInfo(info: ValueInfoProto): void {
  const tensorType = info.type?.tensorType;
  if (tensorType && tensorType.elemType === FLOAT16) tensorType.elemType = FLOAT;
}

/** Rewrites a float16 tensor in place as float32; false when it is of another type. */
function widenTensor(tensor: TensorProto): boolean {
  if (tensor.dataType !== FLOAT16) return false;
  const floats = floatValues(tensor);
  tensor.dataType = FLOAT;
  tensor.int32Data = [];
  // ONNX raw_data is little-endian, as every platform Node runs on stores floats.
  tensor.rawData = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  return true;
}
