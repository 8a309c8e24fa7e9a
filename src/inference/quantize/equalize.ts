// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization"), driven by calibration
// data. One uint8 scale serves a whole activation tensor, but the channels of a trained net differ
// wildly (in IS-Net a channel may peak 30× higher than its neighbours), so small channels are left
// a handful of levels. Since Relu(x / s) = Relu(x) / s for s > 0, each channel c may be divided by
// s_c where it is produced (conv weights and bias of output channel c) and multiplied back where
// it is consumed (conv weights of input channel c) without changing what the float net computes.
// Choosing s_c = sqrt(r_c / w_c) (r_c: the channel's activation range, w_c: its consumers' weight
// range) evens out both the activation channels and the weight columns.
//
// A channel's scaling travels with it through Relu, MaxPool, linear Resize and Concat (at its
// offset); an Add ties its two inputs to one scaling. Where a scaled channel would reach anything
// else (a Sigmoid, a graph output), its whole group keeps s = 1.
import { consumersOf, type GraphIndex } from './graph-index.js';
import {
  dimsOf,
  elementCount,
  floatTensor,
  floatValues,
  type NodeProto,
  type TensorProto,
} from './onnx-model.js';

/** Channels of one conv output (a segment), placed at `offset` in a tensor. */
interface Piece {
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

export interface ChannelGroups {
  /** Segments (conv outputs) whose channels may be rescaled, by union-find root. */
  readonly groups: ReadonlyMap<number, readonly number[]>;
  /** The channel layout of every tensor that carries only conv-output channels. */
  readonly pieces: ReadonlyMap<string, readonly Piece[]>;
  readonly producers: readonly NodeProto[];
  readonly blocked: ReadonlySet<number>;
  root(segment: number): number;
}

const passThrough = new Set(['Relu', 'MaxPool', 'Resize']);

export function findChannelGroups(index: GraphIndex): ChannelGroups {
  const producers: NodeProto[] = [];
  const lengths: number[] = [];
  const parent: number[] = [];
  const root = (segment: number): number => {
    while (parent[segment] !== segment) segment = parent[segment]!;
    return segment;
  };
  const blocked = new Set<number>();
  const block = (pieces: readonly Piece[] | undefined) => {
    for (const piece of pieces ?? []) blocked.add(piece.segment);
  };
  const pieces = new Map<string, Piece[]>();
  for (const node of index.nodes) {
    const inputs = node.input ?? [];
    const output = node.output?.[0] ?? '';
    const type = node.opType ?? '';
    if (type === 'Conv' && equalizableConv(index, node)) {
      const segment = producers.length;
      producers.push(node);
      const length = dimsOf(index.initializers.get(inputs[1]!)!)[0]!;
      lengths.push(length);
      parent.push(segment);
      pieces.set(output, [{ segment, offset: 0, length }]);
    } else if (passThrough.has(type) && pieces.has(inputs[0] ?? '') && (node.output ?? []).length === 1) {
      pieces.set(output, pieces.get(inputs[0]!)!);
    } else if (type === 'Concat' && axisIsChannels(node) && inputs.every((input) => pieces.has(input))) {
      let offset = 0;
      const joined: Piece[] = [];
      for (const input of inputs) {
        for (const piece of pieces.get(input)!) joined.push({ ...piece, offset: offset + piece.offset });
        offset += pieces.get(input)!.reduce((sum, piece) => sum + piece.length, 0);
      }
      pieces.set(output, joined);
    } else if (
      type === 'Add' &&
      inputs.length === 2 &&
      sameLayout(pieces.get(inputs[0]!), pieces.get(inputs[1]!))
    ) {
      const [a, b] = [pieces.get(inputs[0]!)!, pieces.get(inputs[1]!)!];
      a.forEach((piece, position) => {
        parent[root(b[position]!.segment)] = root(piece.segment);
      });
      pieces.set(output, a);
    }
  }
  // Anything that reads a scaled tensor, other than the ops above, would see the scaling.
  for (const [tensor, layout] of pieces) {
    if (index.graphOutputs.has(tensor)) block(layout);
    for (const reader of consumersOf(index, tensor)) {
      if (!absorbs(index, reader, tensor, pieces)) block(layout);
    }
  }
  const groups = new Map<number, number[]>();
  for (let segment = 0; segment < producers.length; segment++) {
    const group = root(segment);
    groups.set(group, [...(groups.get(group) ?? []), segment]);
  }
  const blockedRoots = new Set([...blocked].map(root));
  return { groups, pieces, producers, blocked: blockedRoots, root };
}

/** Whether `reader` takes `tensor`'s scaling on (a conv's data input, or an op that passes it on). */
function absorbs(index: GraphIndex, reader: NodeProto, tensor: string, pieces: ReadonlyMap<string, Piece[]>) {
  const type = reader.opType ?? '';
  const inputs = reader.input ?? [];
  if (type === 'Shape') return true;
  if (type === 'Conv')
    return equalizableConsumer(index, reader) && inputs[0] === tensor && !inputs.slice(1).includes(tensor);
  return pieces.has(reader.output?.[0] ?? '') && (type !== 'Resize' || inputs[0] === tensor);
}

function equalizableConv(index: GraphIndex, node: NodeProto): boolean {
  const [, weight = '', bias = ''] = node.input ?? [];
  const single = (name: string) => consumersOf(index, name).length === 1 && index.initializers.has(name);
  return groupCount(node) === 1 && single(weight) && (bias === '' || single(bias));
}

function equalizableConsumer(index: GraphIndex, node: NodeProto): boolean {
  return equalizableConv(index, node);
}

function groupCount(node: NodeProto): number {
  const attribute = node.attribute?.find((entry) => entry.name === 'group');
  return attribute?.i === undefined || attribute.i === null ? 1 : Number(attribute.i);
}

function axisIsChannels(node: NodeProto): boolean {
  const axis = Number(node.attribute?.find((entry) => entry.name === 'axis')?.i ?? 1);
  return axis === 1 || axis === -3;
}

function sameLayout(a: readonly Piece[] | undefined, b: readonly Piece[] | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.length === b.length &&
    a.every((piece, position) => piece.length === b[position]!.length && piece.offset === b[position]!.offset)
  );
}

export interface EqualizationResult {
  /** Replacement conv weights and biases. */
  readonly initializers: ReadonlyMap<string, TensorProto>;
  readonly equalizedChannels: number;
}

/**
 * The rescaled weights, from each tensor's per-channel maximum (`channelMax`, over the calibration
 * images) for the tensors listed in `groups.pieces`.
 */
export function equalize(
  index: GraphIndex,
  groups: ChannelGroups,
  channelMax: ReadonlyMap<string, Float32Array>,
): EqualizationResult {
  const weights = new Map<string, Float32Array>();
  const weightOf = (name: string) => {
    let values = weights.get(name);
    if (!values) {
      values = floatValues(index.initializers.get(name)!);
      weights.set(name, values);
    }
    return values;
  };
  // Consumers of each segment: the conv and the input-channel offset where the segment lands.
  const consumers = new Map<number, { conv: NodeProto; offset: number }[]>();
  const ranges = new Map<number, Float64Array>();
  for (const [tensor, layout] of groups.pieces) {
    const maxima = channelMax.get(tensor);
    for (const piece of layout) {
      const group = groups.root(piece.segment);
      if (groups.blocked.has(group)) continue;
      if (maxima) {
        const range = ranges.get(group) ?? new Float64Array(piece.length);
        for (let c = 0; c < piece.length; c++) range[c] = Math.max(range[c]!, maxima[piece.offset + c]!);
        ranges.set(group, range);
      }
      for (const reader of consumersOf(index, tensor)) {
        if (reader.opType !== 'Conv') continue;
        const list = consumers.get(piece.segment) ?? [];
        if (!list.some((entry) => entry.conv === reader && entry.offset === piece.offset)) {
          list.push({ conv: reader, offset: piece.offset });
        }
        consumers.set(piece.segment, list);
      }
    }
  }
  let equalizedChannels = 0;
  for (const [group, segments] of groups.groups) {
    const range = ranges.get(group);
    if (groups.blocked.has(group) || !range) continue;
    const length = range.length;
    const weightRange = new Float64Array(length);
    for (const segment of segments) {
      for (const { conv, offset } of consumers.get(segment) ?? []) {
        columnMaxima(
          weightOf(conv.input![1]!),
          dimsOf(index.initializers.get(conv.input![1]!)!),
          offset,
          weightRange,
        );
      }
    }
    const scales = Float64Array.from(range, (r, c) => {
      const w = weightRange[c]!;
      // A channel that never fires (or is never read) has nothing to balance.
      return r > 0 && w > 0 ? Math.min(100, Math.max(0.01, Math.sqrt(r / w))) : 1;
    });
    equalizedChannels += length;
    for (const segment of segments) {
      const producer = groups.producers[segment]!;
      const [, weightName = '', biasName = ''] = producer.input ?? [];
      scaleRows(weightOf(weightName), length, scales);
      if (biasName) scaleRows(weightOf(biasName), length, scales);
      for (const { conv, offset } of consumers.get(segment) ?? []) {
        const name = conv.input![1]!;
        scaleColumns(weightOf(name), dimsOf(index.initializers.get(name)!), offset, scales);
      }
    }
  }
  const initializers = new Map(
    [...weights].map(([name, values]) => [
      name,
      floatTensor(name, dimsOf(index.initializers.get(name)!), values),
    ]),
  );
  return { initializers, equalizedChannels };
}

/** Divides output channel c (row c of an [out, ...] tensor) by scales[c]. */
function scaleRows(values: Float32Array, rows: number, scales: Float64Array): void {
  const perRow = values.length / rows;
  for (let row = 0; row < rows; row++) {
    for (let i = row * perRow; i < (row + 1) * perRow; i++) values[i] = values[i]! / scales[row]!;
  }
}

/** Multiplies input channels offset..offset+n of an [out, in, kh, kw] weight by scales. */
function scaleColumns(values: Float32Array, dims: number[], offset: number, scales: Float64Array): void {
  const [out = 0, inputs = 0] = dims;
  const kernel = elementCount(dims.slice(2));
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < scales.length; c++) {
      const start = (o * inputs + offset + c) * kernel;
      for (let k = start; k < start + kernel; k++) values[k] = values[k]! * scales[c]!;
    }
  }
}

function columnMaxima(values: Float32Array, dims: number[], offset: number, into: Float64Array): void {
  const [out = 0, inputs = 0] = dims;
  const kernel = elementCount(dims.slice(2));
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < into.length; c++) {
      const start = (o * inputs + offset + c) * kernel;
      for (let k = start; k < start + kernel; k++) into[c] = Math.max(into[c]!, Math.abs(values[k]!));
    }
  }
}
