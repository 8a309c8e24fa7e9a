// The synthetic U²-Net: the real topology with seeded weights. Same shapes and compute cost as the
// published models, meaningless masks. Used by tests and benchmarks where real weights are absent.
import { type ModelDescription, type Sink, writeOnnxModel } from './onnx-writer.js';
import { type Block, buildU2Net, type Topology } from './u2net.js';

export type { Block, BlockKind, Topology } from './u2net.js';
export const topologies: readonly Topology[] = ['u2net', 'u2netp'];

export const syntheticInputSize = 320;

export interface SyntheticModel extends ModelDescription {
  readonly topology: Topology;
  readonly seed: number;
  readonly blocks: readonly Block[];
  /** Learned parameters (conv weights and biases, BatchNorm folded in). */
  readonly parameterCount: number;
}

export function describeSyntheticModel(topology: Topology, seed: number): SyntheticModel {
  const { builder, input, outputs, blocks } = buildU2Net(topology, seed, syntheticInputSize);
  const shape = (channels: number) => ['batch', channels, syntheticInputSize, syntheticInputSize];
  const parameterCount = builder.initializers
    .filter((initializer) => initializer.parameter)
    .reduce((sum, initializer) => sum + initializer.dims.reduce((product, dim) => product * dim, 1), 0);
  return {
    topology,
    seed,
    blocks,
    parameterCount,
    graphName: `${topology}-synthetic`,
    nodes: builder.nodes,
    initializers: builder.initializers,
    inputs: [{ name: input.name, shape: shape(input.channels) }],
    outputs: outputs.map((output) => ({ name: output.name, shape: shape(output.channels) })),
    metadata: {
      'clearcut.synthetic': 'true',
      'clearcut.topology': topology,
      'clearcut.seed': String(seed),
      'clearcut.note': 'Seeded random weights: real U²-Net shapes and cost, meaningless masks.',
    },
  };
}

/** Streams the ONNX bytes of the synthetic model to `sink`. */
export async function writeSyntheticModel(
  topology: Topology,
  seed: number,
  sink: Sink,
): Promise<SyntheticModel> {
  const model = describeSyntheticModel(topology, seed);
  await writeOnnxModel(model, sink);
  return model;
}
