// The static QDQ quantizer: float ONNX bytes + calibration inputs → int8 ONNX bytes. In three steps
// so that one calibration (the slow part) can serve several methods: prepare, collect, write.
import type { BiasShifts } from './bias-correction.js';
import {
  type ActivationStatistics,
  type CalibrationInput,
  type CalibrationTarget,
  chooseRanges,
  collectStatistics,
} from './calibrate.js';
import { type GraphIndex, indexGraph } from './graph-index.js';
import { normalizeModel } from './normalize.js';
import { decodeModel, encodeModel, type ModelProto } from './onnx-model.js';
import type { OpenProbe } from './ort-probe.js';
import { type PlannedActivation, planQuantization, type QuantizationPlan } from './plan.js';
import { rewriteToQdq } from './qdq.js';
import { type CalibrationMethod, type QuantParams, type Range, uint8Params } from './ranges.js';

/** Bumped whenever the quantizer would write a different graph for the same input: variants rebuild. */
export const quantizerVersion = 1;

export interface QuantizeRecipe {
  readonly method: CalibrationMethod;
  /** For the percentile method: share of values kept inside the range, e.g. 99.99. */
  readonly percentile: number;
  /** Groups (first, sides, fusion) or node names (`*` wildcard) left in float. */
  readonly keepFloat: readonly string[];
}

export interface QuantizeOptions extends QuantizeRecipe {
  readonly threads: number;
  /** Extra metadata_props for the written model (provenance). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly maxValuesPerRun?: number;
  readonly onProgress?: (message: string) => void;
}

export interface PreparedModel {
  readonly model: ModelProto;
  readonly index: GraphIndex;
  readonly plan: QuantizationPlan;
  /** Activations whose range comes from calibration (the others share one of these). */
  readonly targets: readonly CalibrationTarget[];
}

export interface QuantizeReport {
  readonly quantizedNodes: Readonly<Record<string, number>>;
  readonly keptFloat: readonly string[];
  readonly activationPairs: number;
  readonly calibratedTensors: number;
  readonly clippedBiases: number;
}

export function prepareQuantization(source: Uint8Array, keepFloat: readonly string[]): PreparedModel {
  return planModel(normalizeModel(decodeModel(source)), keepFloat);
}

/** Plans a normalized model (see normalize.ts) for quantization. */
export function planModel(model: ModelProto, keepFloat: readonly string[]): PreparedModel {
  const index = indexGraph(model.graph!);
  const plan = planQuantization(index, keepFloat);
  const targets = plan.activations
    .filter((activation) => activation.sharesWith === undefined)
    .map(({ tensor, nonNegative }) => ({ tensor, nonNegative }));
  return { model, index, plan, targets };
}

export function calibrateModel(
  prepared: PreparedModel,
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  options: Pick<QuantizeOptions, 'threads' | 'maxValuesPerRun' | 'onProgress'> & { histograms: boolean },
): Promise<ActivationStatistics> {
  options.onProgress?.(
    `${prepared.plan.quantized.size} nodes to quantize, ${prepared.plan.activations.length} activations, ` +
      `${prepared.targets.length} to calibrate on ${inputs.length} images`,
  );
  return collectStatistics(prepared.model, prepared.targets, inputs, openProbe, options);
}

/** The int8 model for `recipe`, from statistics that cover the prepared targets. */
export function writeQuantized(
  prepared: PreparedModel,
  statistics: ActivationStatistics,
  recipe: QuantizeRecipe & Pick<QuantizeOptions, 'metadata'>,
  biasShifts?: BiasShifts,
): { bytes: Uint8Array; report: QuantizeReport } {
  const { model, index, plan, targets } = prepared;
  const ranges = chooseRanges(statistics, targets, recipe);
  const rewritten = rewriteToQdq(
    model.graph!,
    index,
    plan,
    activationParams(plan.activations, ranges),
    biasShifts,
  );
  const quantized: ModelProto = {
    ...model,
    graph: rewritten.graph,
    metadataProps: [
      ...(model.metadataProps ?? []).filter((entry) => !entry.key?.startsWith('clearcut.quantized')),
      ...Object.entries(recipeMetadata(recipe)).map(([key, value]) => ({ key, value })),
    ],
  };
  return {
    bytes: encodeModel(quantized),
    report: {
      quantizedNodes: countByType(index, plan.quantized),
      keptFloat: plan.keptFloat.map((node) => node.name ?? ''),
      activationPairs: plan.activations.length,
      calibratedTensors: targets.length,
      clippedBiases: rewritten.stats.clippedBiases,
    },
  };
}

export async function quantizeModel(
  source: Uint8Array,
  inputs: readonly CalibrationInput[],
  openProbe: OpenProbe,
  options: QuantizeOptions,
): Promise<{ bytes: Uint8Array; report: QuantizeReport }> {
  const prepared = prepareQuantization(source, options.keepFloat);
  const statistics = await calibrateModel(prepared, inputs, openProbe, {
    ...options,
    histograms: options.method !== 'minmax',
  });
  return writeQuantized(prepared, statistics, options);
}

/** Scale and zero point per planned activation; sharing ones take their source's, transitively. */
function activationParams(
  activations: readonly PlannedActivation[],
  ranges: ReadonlyMap<string, Range>,
): Map<string, QuantParams> {
  const byTensor = new Map(activations.map((activation) => [activation.tensor, activation]));
  const params = new Map<string, QuantParams>();
  for (const { tensor } of activations) {
    let root = tensor;
    for (
      let next = byTensor.get(root)?.sharesWith;
      next !== undefined;
      next = byTensor.get(root)?.sharesWith
    ) {
      root = next;
    }
    params.set(tensor, uint8Params(ranges.get(root)!));
  }
  return params;
}

function countByType(index: GraphIndex, nodes: ReadonlySet<unknown>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of index.nodes) {
    if (nodes.has(node)) counts[node.opType ?? ''] = (counts[node.opType ?? ''] ?? 0) + 1;
  }
  return counts;
}

function recipeMetadata(recipe: QuantizeRecipe & Pick<QuantizeOptions, 'metadata'>): Record<string, string> {
  return {
    'clearcut.quantized': 'int8-qdq',
    'clearcut.quantized.version': String(quantizerVersion),
    'clearcut.quantized.method':
      recipe.method === 'percentile' ? `percentile ${recipe.percentile}` : recipe.method,
    'clearcut.quantized.keep_float': recipe.keepFloat.join(',') || 'none',
    ...recipe.metadata,
  };
}
