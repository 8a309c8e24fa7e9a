// Brings a float model into the shape the quantizer works on: float32 everywhere (fp16 exports are
// upcast, their casts removed so producer and consumer meet), and opset ≥ 13 (per-channel
// DequantizeLinear needs the `axis` attribute of opset 13).
import { PermanentError } from '../errors.js';
import { indexGraph } from './graph-index.js';
import {
  DataType,
  floatTensor,
  floatValues,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './onnx-model.js';

export const minimumOpset = 13;

const unsupported = (message: string) => new PermanentError('model_unsupported', message);

// Ops whose inputs and attributes mean the same from opset 10 to 13, so raising the opset is safe.
const opsetStable = new Set([
  'Add',
  'Cast',
  'Concat',
  'Constant',
  'ConstantOfShape',
  'Conv',
  'Div',
  'Floor',
  'Gather',
  'Identity',
  'MaxPool',
  'Mul',
  'Relu',
  'Reshape',
  'Resize',
  'Shape',
  'Sigmoid',
  'Slice',
  'Sub',
]);

export function normalizeModel(model: ModelProto): ModelProto {
  if (!model.graph) throw unsupported('the file holds no ONNX graph');
  const opset = defaultOpset(model);
  let graph = upcastHalves(sortTopologically(model.graph));
  graph = removeNoOpCasts(graph);
  if (opset < minimumOpset) graph = raiseOpset(graph, opset);
  return {
    ...model,
    opsetImport: (model.opsetImport ?? []).map((entry) =>
      entry.domain ? entry : { ...entry, version: Math.max(opset, minimumOpset) },
    ),
    graph,
  };
}

export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((candidate) => !candidate.domain);
  if (!entry) throw unsupported('the model imports no default ONNX opset');
  return Number(entry.version);
}

/**
 * Nodes in dependency order (ONNX requires it; fp16 converters append their casts at the end anyway),
 * so one pass in node order sees every producer before its consumers. Stable: ties keep file order.
 */
function sortTopologically(graph: GraphProto): GraphProto {
  const nodes = graph.node ?? [];
  const available = new Set<string>([
    ...(graph.input ?? []).map((input) => input.name ?? ''),
    ...(graph.initializer ?? []).map((tensor) => tensor.name ?? ''),
    '',
  ]);
  const sorted: NodeProto[] = [];
  let pending = nodes;
  while (pending.length > 0) {
    const blocked: NodeProto[] = [];
    for (const node of pending) {
      if ((node.input ?? []).every((input) => available.has(input))) {
        sorted.push(node);
        for (const output of node.output ?? []) available.add(output);
      } else blocked.push(node);
    }
    if (blocked.length === pending.length) {
      const missing = (blocked[0]!.input ?? []).filter((input) => !available.has(input));
      throw unsupported(
        `node ${blocked[0]!.name} reads ${missing.join(', ')}, which nothing produces (or a cycle)`,
      );
    }
    pending = blocked;
  }
  return { ...graph, node: sorted };
}

/** fp16 weights, constants, casts and graph inputs/outputs become float32. */
function upcastHalves(graph: GraphProto): GraphProto {
  const upcast = (tensor: TensorProto): TensorProto =>
    tensor.dataType === DataType.FLOAT16
      ? floatTensor(tensor.name ?? '', (tensor.dims ?? []).map(Number), floatValues(tensor))
      : tensor;
  const upcastInfo = (info: ValueInfoProto): ValueInfoProto =>
    info.type?.tensorType?.elemType === DataType.FLOAT16
      ? { ...info, type: { tensorType: { ...info.type.tensorType, elemType: DataType.FLOAT } } }
      : info;
  const node = (graph.node ?? []).map((entry): NodeProto => {
    if (entry.opType === 'Constant' && entry.attribute?.[0]?.t?.dataType === DataType.FLOAT16) {
      return { ...entry, attribute: [{ ...entry.attribute[0], t: upcast(entry.attribute[0].t) }] };
    }
    if (entry.opType === 'Cast') {
      return {
        ...entry,
        attribute: (entry.attribute ?? []).map((attribute) =>
          attribute.name === 'to' && Number(attribute.i) === DataType.FLOAT16
            ? { ...attribute, i: DataType.FLOAT }
            : attribute,
        ),
      };
    }
    return entry;
  });
  return {
    ...graph,
    node,
    initializer: (graph.initializer ?? []).map(upcast),
    input: (graph.input ?? []).map(upcastInfo),
    output: (graph.output ?? []).map(upcastInfo),
    // Stale after any rewrite, and optional: ONNX Runtime infers shapes again.
    valueInfo: [],
  };
}

/**
 * Drops casts from float to float. A cast whose output is a graph output renames its producer's
 * output instead, so the graph keeps its output names.
 */
function removeNoOpCasts(graph: GraphProto): GraphProto {
  const index = indexGraph(graph);
  const alias = new Map<string, string>();
  const resolve = (name: string): string => {
    let current = name;
    for (let next = alias.get(current); next !== undefined; next = alias.get(current)) current = next;
    return current;
  };
  const dropped = new Set<NodeProto>();
  for (const node of index.nodes) {
    const to = Number(node.attribute?.find((attribute) => attribute.name === 'to')?.i);
    const input = node.input?.[0] ?? '';
    const output = node.output?.[0] ?? '';
    if (node.opType !== 'Cast' || to !== DataType.FLOAT || !index.floats.has(input)) continue;
    const source = resolve(input);
    if (!index.graphOutputs.has(output)) {
      alias.set(output, source);
      dropped.add(node);
    } else if (
      index.producer.has(source) &&
      !index.graphOutputs.has(source) &&
      !index.graphInputs.has(source)
    ) {
      alias.set(source, output);
      dropped.add(node);
    }
  }
  const node = index.nodes
    .filter((entry) => !dropped.has(entry))
    .map((entry) => ({
      ...entry,
      input: (entry.input ?? []).map((name) => (name ? resolve(name) : name)),
      output: (entry.output ?? []).map((name) => (name ? resolve(name) : name)),
    }));
  return { ...graph, node };
}

/** Opset 10–12 → 13: Unsqueeze/Squeeze take their axes as an input from 13 on; the rest is allowlisted. */
function raiseOpset(graph: GraphProto, opset: number): GraphProto {
  const foreign = [
    ...new Set(
      (graph.node ?? [])
        .filter((node) => !node.domain && !opsetStable.has(node.opType ?? '') && !axesMoved(node))
        .map((node) => node.opType),
    ),
  ];
  if (opset < 10 || foreign.length > 0) {
    throw unsupported(
      `the model uses opset ${opset}; the quantizer needs opset ${minimumOpset} and can raise it only for ` +
        `graphs made of ${[...opsetStable, 'Squeeze', 'Unsqueeze'].join(', ')}` +
        (foreign.length > 0 ? ` (this one also has ${foreign.join(', ')})` : '') +
        `. Export the model again with opset_version=${minimumOpset} or later.`,
    );
  }
  const initializer = [...(graph.initializer ?? [])];
  const node = (graph.node ?? []).map((entry, position) => {
    if (!axesMoved(entry)) return entry;
    const axes = entry.attribute?.find((attribute) => attribute.name === 'axes');
    if (!axes) return entry;
    const name = `${entry.name || `${entry.opType}_${position}`}.axes`;
    const values = (axes.ints ?? []).map((value) => BigInt(value.toString()));
    initializer.push({
      name,
      dims: [values.length],
      dataType: DataType.INT64,
      rawData: new Uint8Array(BigInt64Array.from(values).buffer),
    });
    return {
      ...entry,
      input: [...(entry.input ?? []), name],
      attribute: (entry.attribute ?? []).filter((attribute) => attribute !== axes),
    };
  });
  return { ...graph, node, initializer };
}

function axesMoved(node: NodeProto): boolean {
  return !node.domain && (node.opType === 'Unsqueeze' || node.opType === 'Squeeze');
}
