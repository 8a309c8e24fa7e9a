// Who produces and who consumes each tensor of a graph, and which tensors hold floats.
import { DataType, type GraphProto, type NodeProto, type TensorProto } from './onnx-model.js';

export interface GraphIndex {
  readonly nodes: readonly NodeProto[];
  readonly producer: ReadonlyMap<string, NodeProto>;
  readonly consumers: ReadonlyMap<string, readonly NodeProto[]>;
  readonly initializers: ReadonlyMap<string, TensorProto>;
  readonly graphInputs: ReadonlySet<string>;
  readonly graphOutputs: ReadonlySet<string>;
  /** Tensors known to hold float32 values (activations, weights), as far as the ops here tell. */
  readonly floats: ReadonlySet<string>;
}

// Ops whose output has the element type of their first input (the ones these nets use, and kin).
const typePreserving = new Set([
  'Add',
  'AveragePool',
  'BatchNormalization',
  'Clip',
  'Concat',
  'Conv',
  'ConvTranspose',
  'Div',
  'Flatten',
  'GlobalAveragePool',
  'Identity',
  'LeakyRelu',
  'MaxPool',
  'Mul',
  'Pad',
  'Relu',
  'Reshape',
  'Resize',
  'Sigmoid',
  'Slice',
  'Softmax',
  'Squeeze',
  'Sub',
  'Tanh',
  'Transpose',
  'Unsqueeze',
  'Upsample',
]);

export function indexGraph(graph: GraphProto): GraphIndex {
  const nodes = graph.node ?? [];
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const output of node.output ?? []) if (output) producer.set(output, node);
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input);
      if (list) {
        if (!list.includes(node)) list.push(node);
      } else consumers.set(input, [node]);
    }
  }
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const graphInputs = new Set(
    (graph.input ?? []).map((input) => input.name ?? '').filter((name) => !initializers.has(name)),
  );
  const graphOutputs = new Set((graph.output ?? []).map((output) => output.name ?? ''));
  const floats = new Set<string>();
  for (const input of graph.input ?? []) {
    if (input.type?.tensorType?.elemType === DataType.FLOAT) floats.add(input.name ?? '');
  }
  for (const [name, tensor] of initializers) if (tensor.dataType === DataType.FLOAT) floats.add(name);
  for (const node of nodes) {
    if (outputIsFloat(node, floats)) for (const output of node.output ?? []) floats.add(output);
  }
  return { nodes, producer, consumers, initializers, graphInputs, graphOutputs, floats };
}

function outputIsFloat(node: NodeProto, floats: ReadonlySet<string>): boolean {
  const type = node.opType ?? '';
  if (type === 'Constant') return node.attribute?.[0]?.t?.dataType === DataType.FLOAT;
  if (type === 'Cast') return Number(node.attribute?.find((a) => a.name === 'to')?.i) === DataType.FLOAT;
  return typePreserving.has(type) && floats.has(node.input?.[0] ?? '');
}

export function consumersOf(index: GraphIndex, tensor: string): readonly NodeProto[] {
  return index.consumers.get(tensor) ?? [];
}

/** A tensor computed by the graph (not a weight, not a constant folded into an initializer). */
export function isActivation(index: GraphIndex, tensor: string): boolean {
  return (
    tensor !== '' &&
    index.floats.has(tensor) &&
    !index.initializers.has(tensor) &&
    index.producer.get(tensor)?.opType !== 'Constant'
  );
}
