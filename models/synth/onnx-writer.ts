// Serialises a graph to the ONNX protobuf format as a stream: the small parts (nodes, inputs, outputs)
// are encoded with onnx-proto, each weight tensor is generated and written on its own, so writing the
// 176 MB U²-Net holds one tensor in memory at a time instead of the whole model twice.
import onnxProto from 'onnx-proto';
import type { Attribute, GraphNode, Initializer } from './graph.js';

const { onnx } = onnxProto;

/** Opset 13: what the int8 QDQ tooling targets, and has Resize with linear mode. IR 7 goes with it. */
export const opsetVersion = 13;
const irVersion = 7;

export interface ValueInfo {
  readonly name: string;
  /** A string is a symbolic (dynamic) axis, such as "batch". */
  readonly shape: readonly (number | string)[];
}

export interface ModelDescription {
  readonly graphName: string;
  readonly nodes: readonly GraphNode[];
  readonly initializers: readonly Initializer[];
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly metadata: Readonly<Record<string, string>>;
}

export type Sink = (chunk: Uint8Array) => Promise<void> | void;

// Protobuf wire format: tag = field number << 3 | wire type (2 = length-delimited).
const modelGraphTag = (7 << 3) | 2;
const graphInitializerTag = (5 << 3) | 2;
const tensorRawDataTag = (9 << 3) | 2;

export async function writeOnnxModel(model: ModelDescription, sink: Sink): Promise<void> {
  const head = onnx.ModelProto.encode({
    irVersion,
    opsetImport: [{ domain: '', version: opsetVersion }],
    producerName: 'clearcut-synth',
    producerVersion: '1',
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  }).finish();
  const graphHead = onnx.GraphProto.encode({
    name: model.graphName,
    node: model.nodes.map(encodeNode),
    input: model.inputs.map(valueInfo),
    output: model.outputs.map(valueInfo),
  }).finish();
  const tensors = model.initializers.map((initializer) => {
    const header = onnx.TensorProto.encode({
      name: initializer.name,
      dims: [...initializer.dims],
      dataType: onnx.TensorProto.DataType.FLOAT,
    }).finish();
    const rawBytes = initializer.dims.reduce((product, dim) => product * dim, 1) * 4;
    const prefix = concat([header, [tensorRawDataTag], varint(rawBytes)]);
    return { initializer, prefix, length: prefix.length + rawBytes };
  });
  const graphLength = tensors.reduce(
    (sum, tensor) => sum + 1 + varint(tensor.length).length + tensor.length,
    graphHead.length,
  );
  await sink(concat([head, [modelGraphTag], varint(graphLength), graphHead]));
  for (const { initializer, prefix, length } of tensors) {
    const data = new Float32Array((length - prefix.length) / 4);
    initializer.fill(data);
    await sink(concat([[graphInitializerTag], varint(length), prefix]));
    // ONNX raw_data is little-endian, which is what every platform Node runs on stores.
    await sink(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
}

function encodeNode(node: GraphNode) {
  return {
    name: node.name,
    opType: node.opType,
    input: [...node.inputs],
    output: [...node.outputs],
    attribute: node.attributes.map(encodeAttribute),
  };
}

function encodeAttribute(attribute: Attribute) {
  const types = onnx.AttributeProto.AttributeType;
  if ('ints' in attribute) return { name: attribute.name, type: types.INTS, ints: [...attribute.ints] };
  if ('int' in attribute) return { name: attribute.name, type: types.INT, i: attribute.int };
  return { name: attribute.name, type: types.STRING, s: new TextEncoder().encode(attribute.string) };
}

function valueInfo({ name, shape }: ValueInfo) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: {
          dim: shape.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })),
        },
      },
    },
  };
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return bytes;
}

function concat(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
