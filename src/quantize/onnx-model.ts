// ONNX protobuf in and out for the quantizer: decode a whole model, read and make tensors, build nodes.
// The models are small enough (≤ 180 MB) to hold decoded; weight bytes stay views of the file buffer.
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { errorMessage, PermanentError } from '../errors.js';

const { onnx } = onnxProto;

export type ModelProto = OnnxTypes.IModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

export const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The decoded model; `source` names the bytes in the error when they are not an ONNX model. */
export function decodeModel(bytes: Uint8Array, source = 'the file'): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new PermanentError(
      'model_invalid',
      `${source} is not an ONNX model: its bytes do not decode as one (${errorMessage(error)})`,
      { cause: error },
    );
  }
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function dimsOf(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map(Number);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((product, dim) => product * dim, 1);
}

/** The values of a FLOAT or FLOAT16 tensor as float32 (raw bytes or the typed repeated field). */
export function floatValues(tensor: TensorProto): Float32Array {
  const count = elementCount(dimsOf(tensor));
  const raw = tensor.rawData;
  if (tensor.dataType === DataType.FLOAT) {
    if (raw && raw.byteLength > 0) {
      // Copy: raw bytes may sit at an offset that is not a multiple of 4 inside the file buffer.
      return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + count * 4));
    }
    return Float32Array.from(tensor.floatData ?? []);
  }
  if (tensor.dataType === DataType.FLOAT16) {
    const halves = new Uint16Array(count);
    if (raw && raw.byteLength > 0) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < count; i++) halves[i] = view.getUint16(i * 2, true);
    } else {
      // ONNX keeps FLOAT16 in int32_data, one half per element, when it has no raw bytes.
      halves.set(tensor.int32Data ?? []);
    }
    return Float32Array.from(halves, halfToFloat);
  }
  throw new Error(`tensor ${tensor.name} is of ONNX type ${tensor.dataType}, not a float type`);
}

/** IEEE 754 binary16 → number. */
export function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

type TypedValues = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

function tensor(name: string, dims: readonly number[], dataType: number, values: TypedValues): TensorProto {
  // ONNX raw_data is little-endian, which is what every platform Node runs on stores.
  const rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dims: [...dims], dataType, rawData };
}

export const floatTensor = (name: string, dims: readonly number[], values: Float32Array) =>
  tensor(name, dims, DataType.FLOAT, values);
export const int8Tensor = (name: string, dims: readonly number[], values: Int8Array) =>
  tensor(name, dims, DataType.INT8, values);
export const uint8Tensor = (name: string, dims: readonly number[], values: Uint8Array) =>
  tensor(name, dims, DataType.UINT8, values);
export const int32Tensor = (name: string, dims: readonly number[], values: Int32Array) =>
  tensor(name, dims, DataType.INT32, values);
export const int64Tensor = (name: string, dims: readonly number[], values: BigInt64Array) =>
  tensor(name, dims, DataType.INT64, values);

export function makeNode(
  opType: string,
  name: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: readonly AttributeProto[] = [],
  domain?: string,
): NodeProto {
  return {
    opType,
    name,
    input: [...inputs],
    output: [...outputs],
    attribute: [...attributes],
    ...(domain ? { domain } : {}),
  };
}

export const intAttribute = (name: string, value: number): AttributeProto => ({
  name,
  type: AttributeType.INT,
  i: value,
});

export const intsAttribute = (name: string, values: readonly number[]): AttributeProto => ({
  name,
  type: AttributeType.INTS,
  ints: [...values],
});

/** A float graph output or input of unknown shape: all ONNX Runtime needs to return a tensor. */
export function floatValueInfo(name: string): ValueInfoProto {
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}

/** The height of the first graph input (N×C×H×W), when it is a fixed number. */
export function modelInputSide(model: ModelProto): number | undefined {
  const dims = model.graph?.input?.[0]?.type?.tensorType?.shape?.dim ?? [];
  const height = dims[2]?.dimValue;
  return height === undefined || height === null ? undefined : Number(height);
}
