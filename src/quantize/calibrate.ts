// Collects activation ranges by running the float model on calibration inputs. Pass 1 adds
// ReduceMin / ReduceMax / Size nodes for every tensor, so one run per image yields each tensor's
// extremes without copying a single activation out of ONNX Runtime. Histogram methods then need a
// second pass that does fetch activations, a bounded number of values per run (IS-Net's at
// 1024×1024 add up to gigabytes), in as many groups as that takes.
import { PermanentError } from '../errors.js';
import {
  DataType,
  encodeModel,
  floatValueInfo,
  type GraphProto,
  intAttribute,
  type ModelProto,
  makeNode,
  type NodeProto,
  type ValueInfoProto,
} from './onnx-model.js';
import type { OpenProbe } from './ort-probe.js';
import { chooseRange, Histogram, type Range, type RangeOptions } from './ranges.js';

export interface CalibrationTarget {
  readonly tensor: string;
  readonly nonNegative: boolean;
}

export interface CalibrationInput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface CalibrationOptions {
  readonly threads: number;
  /** Collect histograms too (the percentile and entropy methods need them). */
  readonly histograms: boolean;
  /** Most activation values fetched in one run of a histogram pass; bounds the memory used. */
  readonly maxValuesPerRun?: number;
  readonly onProgress?: (message: string) => void;
}

/** What the calibration inputs produced in each tensor; any method's ranges derive from it. */
export interface ActivationStatistics {
  readonly observed: ReadonlyMap<string, Range>;
  readonly histograms: ReadonlyMap<string, Histogram>;
  readonly runs: number;
}

// 96 Mi float32 values: ~400 MB copied out of ONNX Runtime per run. IS-Net at 1024×1024 then needs
// 4 groups (4 runs per image) instead of one run holding all ~380 M activation values at once.
const defaultMaxValuesPerRun = 96 * 1024 * 1024;

export async function collectStatistics(
  model: ModelProto,
  targets: readonly CalibrationTarget[],
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  options: CalibrationOptions,
): Promise<ActivationStatistics> {
  if (inputs.length === 0) throw new Error('calibration needs at least one input');
  const progress = options.onProgress ?? (() => {});
  const { observed, sizes } = await observeExtremes(
    model,
    targets,
    inputs,
    openProbe,
    options.threads,
    progress,
  );
  let runs = inputs.length;
  const histograms = new Map<string, Histogram>();
  if (options.histograms) {
    const groups = groupBySize(targets, sizes, options.maxValuesPerRun ?? defaultMaxValuesPerRun);
    for (const [position, group] of groups.entries()) {
      progress(`histograms: group ${position + 1} of ${groups.length} (${group.length} tensors)`);
      for (const { tensor } of group) histograms.set(tensor, new Histogram(observed.get(tensor)!));
      const probe = await openProbe(
        withOutputs(
          model,
          [],
          group.map(({ tensor }) => tensor),
        ),
        options.threads,
      );
      try {
        for (const input of inputs) {
          const values = await probe.run(
            input.data,
            input.dims,
            group.map(({ tensor }) => tensor),
          );
          for (const { tensor } of group) histograms.get(tensor)!.add(values.get(tensor) as Float32Array);
          runs++;
        }
      } finally {
        await probe.close();
      }
    }
  }
  return { observed, histograms, runs };
}

/** The range each target is quantized to, by the method in `options`. */
export function chooseRanges(
  statistics: ActivationStatistics,
  targets: readonly CalibrationTarget[],
  options: RangeOptions,
): Map<string, Range> {
  return new Map(
    targets.map(({ tensor, nonNegative }) => [
      tensor,
      chooseRange(statistics.observed.get(tensor)!, statistics.histograms.get(tensor), nonNegative, options),
    ]),
  );
}

async function observeExtremes(
  model: ModelProto,
  targets: readonly CalibrationTarget[],
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  threads: number,
  progress: (message: string) => void,
) {
  const probeNodes: NodeProto[] = [];
  const outputs: ValueInfoProto[] = [];
  const names: string[] = [];
  for (const { tensor } of targets) {
    const [min, max, size] = statNames(tensor);
    probeNodes.push(
      makeNode('ReduceMin', `${tensor}__calibration_min`, [tensor], [min], [intAttribute('keepdims', 0)]),
      makeNode('ReduceMax', `${tensor}__calibration_max`, [tensor], [max], [intAttribute('keepdims', 0)]),
      makeNode('Size', `${tensor}__calibration_size`, [tensor], [size]),
    );
    outputs.push(floatValueInfo(min), floatValueInfo(max), {
      name: size,
      type: { tensorType: { elemType: DataType.INT64 } },
    });
    names.push(min, max, size);
  }
  const probe = await openProbe(withOutputs(model, probeNodes, [], outputs), threads);
  const observed = new Map<string, Range>();
  const sizes = new Map<string, number>();
  try {
    for (const [position, input] of inputs.entries()) {
      progress(`ranges: image ${position + 1} of ${inputs.length}`);
      const values = await probe.run(input.data, input.dims, names);
      for (const { tensor } of targets) {
        const [minName, maxName, sizeName] = statNames(tensor);
        const min = (values.get(minName) as Float32Array)[0]!;
        const max = (values.get(maxName) as Float32Array)[0]!;
        if (!Number.isFinite(min) || !Number.isFinite(max)) {
          throw new PermanentError(
            'calibration_failed',
            `tensor ${tensor} holds NaN or infinite values on calibration image ${position + 1}: the float model itself is broken.`,
          );
        }
        const seen = observed.get(tensor);
        observed.set(
          tensor,
          seen ? { min: Math.min(seen.min, min), max: Math.max(seen.max, max) } : { min, max },
        );
        sizes.set(tensor, Number((values.get(sizeName) as BigInt64Array)[0]));
      }
    }
  } finally {
    await probe.close();
  }
  return { observed, sizes };
}

function statNames(tensor: string): [string, string, string] {
  return [`${tensor}__calibration_min`, `${tensor}__calibration_max`, `${tensor}__calibration_size`];
}

/** The model with extra nodes and extra graph outputs (existing outputs stay, so nothing is pruned). */
function withOutputs(
  model: ModelProto,
  nodes: readonly NodeProto[],
  tensors: readonly string[],
  infos: readonly ValueInfoProto[] = [],
): Uint8Array {
  const graph = model.graph as GraphProto;
  const existing = new Set((graph.output ?? []).map((output) => output.name));
  const extra = [...infos, ...tensors.filter((tensor) => !existing.has(tensor)).map(floatValueInfo)];
  return encodeModel({
    ...model,
    graph: { ...graph, node: [...(graph.node ?? []), ...nodes], output: [...(graph.output ?? []), ...extra] },
  });
}

/** Consecutive tensors (graph order keeps a group's activations alive together anyway) up to `budget` values. */
function groupBySize<T extends CalibrationTarget>(
  targets: readonly T[],
  sizes: ReadonlyMap<string, number>,
  budget: number,
): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const target of targets) {
    const size = sizes.get(target.tensor) ?? 0;
    if (current.length > 0 && total + size > budget) {
      groups.push(current);
      current = [];
      total = 0;
    }
    current.push(target);
    total += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
