// Which nodes run in int8 and which tensors get a QuantizeLinear → DequantizeLinear pair.
//
// ONNX Runtime fuses DQ → op → Q groups into QLinearConv / QLinearConcat / QLinearAdd and runs
// MaxPool on uint8 directly, but only when every input of the op comes from a DequantizeLinear and
// every output goes only to a QuantizeLinear. So the int8 path is kept continuous: each activation
// that a quantized op reads or writes gets one Q → DQ pair, and every consumer reads the DQ side.
// Conv → Relu stays one unit: the pair goes after the Relu, whose uint8 zero point of 0 lets ORT
// drop the Relu altogether.
import { PermanentError } from '../errors.js';
import { consumersOf, type GraphIndex, isActivation } from './graph-index.js';
import { dimsOf, type NodeProto } from './onnx-model.js';

/** Named groups of layers found from the graph's structure (node names differ between exports). */
export const keepFloatGroups = {
  first: 'the convolution(s) reading the image input',
  sides: 'the side-output heads: each convolution feeding a sigmoid output, and its upsampling',
  fusion: 'the convolution fusing the side outputs into the final mask (U²-Net), and its concat',
} as const;
export type KeepFloatGroup = keyof typeof keepFloatGroups;

export interface PlannedActivation {
  readonly tensor: string;
  /** MaxPool and Resize outputs reuse their input's scale and zero point, as ORT requires to skip them. */
  readonly sharesWith?: string;
  /** A Relu output: its range starts at exactly 0, so its uint8 zero point is 0. */
  readonly nonNegative: boolean;
}

export interface QuantizationPlan {
  readonly quantized: ReadonlySet<NodeProto>;
  /** Nodes that could run in int8 but were asked to stay float. */
  readonly keptFloat: readonly NodeProto[];
  readonly activations: readonly PlannedActivation[];
}

const sharingOps = new Set(['MaxPool', 'Resize']);

export function planQuantization(index: GraphIndex, keepFloat: readonly string[]): QuantizationPlan {
  const kept = selectKeepFloat(index, keepFloat);
  const quantized = new Set(index.nodes.filter((node) => !kept.has(node) && quantizable(index, node)));
  const marked = new Set<string>();
  for (const node of quantized) {
    for (const input of activationInputs(index, node)) marked.add(input);
    for (const output of node.output ?? []) if (output) marked.add(output);
  }
  for (const tensor of [...marked]) if (fusedIntoRelu(index, quantized, tensor)) marked.delete(tensor);
  const order = [...index.graphInputs, ...index.nodes.flatMap((node) => node.output ?? [])];
  const activations = order
    .filter((tensor) => marked.has(tensor))
    .map((tensor): PlannedActivation => {
      const producer = index.producer.get(tensor);
      const source = producer?.input?.[0] ?? '';
      const shares = producer && quantized.has(producer) && sharingOps.has(producer.opType ?? '');
      return {
        tensor,
        ...(shares && marked.has(source) ? { sharesWith: source } : {}),
        nonNegative: producer?.opType === 'Relu',
      };
    });
  const keptFloat = index.nodes.filter((node) => kept.has(node) && quantizable(index, node));
  return { quantized, keptFloat, activations };
}

/** The float inputs of `node` that the graph computes (not weights, not constants). */
export function activationInputs(index: GraphIndex, node: NodeProto): string[] {
  const inputs = node.input ?? [];
  const data = node.opType === 'Conv' || node.opType === 'Resize' ? inputs.slice(0, 1) : inputs;
  return data.filter((input) => isActivation(index, input));
}

function quantizable(index: GraphIndex, node: NodeProto): boolean {
  const inputs = node.input ?? [];
  const allActivations = inputs.length > 0 && inputs.every((input) => isActivation(index, input));
  switch (node.opType) {
    case 'Conv':
      return quantizableConv(index, node);
    case 'Add':
      return inputs.length === 2 && allActivations;
    case 'Concat':
    case 'Relu':
      return allActivations;
    case 'MaxPool':
      return (node.output ?? []).filter(Boolean).length === 1 && isActivation(index, inputs[0] ?? '');
    case 'Resize':
      return isActivation(index, inputs[0] ?? '');
    default:
      return false;
  }
}

/** A Conv with a 4-D float weight and an optional float bias, neither shared with another node. */
function quantizableConv(index: GraphIndex, node: NodeProto): boolean {
  const [data = '', weight = '', bias = '', ...rest] = node.input ?? [];
  const weightTensor = index.initializers.get(weight);
  const own = (name: string) => consumersOf(index, name).length === 1 && index.floats.has(name);
  return (
    rest.length === 0 &&
    isActivation(index, data) &&
    weightTensor !== undefined &&
    dimsOf(weightTensor).length === 4 &&
    own(weight) &&
    (bias === '' || (index.initializers.has(bias) && own(bias)))
  );
}

/** A quantized Conv's output read only by a quantized Relu: ORT fuses the two, no pair in between. */
function fusedIntoRelu(index: GraphIndex, quantized: ReadonlySet<NodeProto>, tensor: string): boolean {
  const producer = index.producer.get(tensor);
  const readers = consumersOf(index, tensor);
  return (
    producer?.opType === 'Conv' &&
    quantized.has(producer) &&
    !index.graphOutputs.has(tensor) &&
    readers.length === 1 &&
    readers[0]!.opType === 'Relu' &&
    quantized.has(readers[0]!)
  );
}

/**
 * Nodes chosen by `selectors`: group names (first, sides, fusion) or node names, where `*` matches
 * any run of characters. A kept Conv keeps the Relu it feeds, so the pair stays one float kernel.
 */
export function selectKeepFloat(index: GraphIndex, selectors: readonly string[]): Set<NodeProto> {
  const kept = new Set<NodeProto>();
  const heads = headRegions(index);
  for (const selector of selectors) {
    const chosen =
      selector === 'first'
        ? firstConvs(index)
        : selector === 'sides'
          ? heads.sides
          : selector === 'fusion'
            ? heads.fusion
            : index.nodes.filter((node) => globMatches(selector, node.name ?? ''));
    if (chosen.length === 0) {
      throw new PermanentError('keep_float_unmatched', unmatchedMessage(index, selector));
    }
    for (const node of chosen) kept.add(node);
  }
  for (const node of [...kept]) {
    const readers = consumersOf(index, node.output?.[0] ?? '');
    if (node.opType === 'Conv' && readers.length === 1 && readers[0]!.opType === 'Relu')
      kept.add(readers[0]!);
  }
  return kept;
}

function firstConvs(index: GraphIndex): NodeProto[] {
  return [...index.graphInputs].flatMap((input) =>
    consumersOf(index, input).filter((node) => node.opType === 'Conv'),
  );
}

/**
 * Walks back from every sigmoid graph output through anything but a Conv, up to and including the
 * first Conv on each path. Convs whose own input leads (the same way) to another head Conv fuse
 * side outputs; everything else walked through belongs to the sides.
 */
function headRegions(index: GraphIndex): { sides: NodeProto[]; fusion: NodeProto[] } {
  const walkBack = (starts: readonly NodeProto[]) => {
    const region = new Set<NodeProto>();
    const stack = [...starts];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (region.has(node)) continue;
      region.add(node);
      if (node.opType === 'Conv' && !starts.includes(node)) continue;
      for (const input of activationInputs(index, node)) {
        const producer = index.producer.get(input);
        if (producer) stack.push(producer);
      }
    }
    return region;
  };
  const sigmoids = [...index.graphOutputs]
    .map((output) => index.producer.get(output))
    .filter((node): node is NodeProto => node?.opType === 'Sigmoid');
  const region = walkBack(sigmoids);
  const headConvs = [...region].filter((node) => node.opType === 'Conv');
  const fusion = new Set<NodeProto>();
  for (const conv of headConvs) {
    const behind = walkBack([conv]);
    behind.delete(conv);
    if (![...behind].some((node) => node.opType === 'Conv' && region.has(node))) continue;
    fusion.add(conv);
    for (const node of behind) if (node.opType !== 'Conv' && !sigmoids.includes(node)) fusion.add(node);
  }
  // Upsampling between a side conv and the fusion belongs to the side, not to the fusion.
  for (const node of fusion) {
    if (node.opType === 'Resize') fusion.delete(node);
  }
  const sides = [...region].filter((node) => !fusion.has(node) && node.opType !== 'Sigmoid');
  return { sides, fusion: [...fusion] };
}

function globMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(name);
}

function unmatchedMessage(index: GraphIndex, selector: string): string {
  if (selector in keepFloatGroups) {
    return `--keep-float ${selector}: this graph has no ${keepFloatGroups[selector as KeepFloatGroup]}.`;
  }
  const examples = index.nodes
    .filter((node) => node.opType === 'Conv')
    .slice(0, 3)
    .map((node) => node.name);
  return (
    `--keep-float ${selector}: no node of the graph has that name. Give a group ` +
    `(${Object.keys(keepFloatGroups).join(', ')}) or node names, with * as a wildcard ` +
    `(e.g. ${examples.join(', ')}).`
  );
}
