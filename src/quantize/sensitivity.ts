// Sensitivity-guided mixed precision: which layer groups hurt the mask most when quantized, and
// which to keep in float. Pure logic; the measuring (building a model per probe, running it) is
// the caller's (bench/int8/sensitivity.ts).
import type { GraphIndex } from './graph-index.js';
import type { NodeProto } from './onnx-model.js';

export interface LayerGroup {
  /** `--keep-float` selector that names every node of the group (`/stage1d/*`). */
  readonly selector: string;
  readonly convs: number;
}

/**
 * The graph's quantizable convs grouped by the first component of their names (`/stage1d/...` →
 * `/stage1d/*`): a block of an export (an RSU stage, a side output). Convs already kept float by
 * the recipe (`kept`) are left out; a name without a `/` component is its own group.
 */
export function layerGroups(index: GraphIndex, kept: ReadonlySet<NodeProto>): LayerGroup[] {
  const counts = new Map<string, number>();
  for (const node of index.nodes) {
    if (node.opType !== 'Conv' || kept.has(node)) continue;
    const name = node.name ?? '';
    const block = /^\/?[^/]+(?=\/)/.exec(name)?.[0];
    const selector = block === undefined ? name : `${block}/*`;
    counts.set(selector, (counts.get(selector) ?? 0) + 1);
  }
  return [...counts].map(([selector, convs]) => ({ selector, convs }));
}

/** How far a probe's masks moved from the float model's. */
export interface MaskDamage {
  readonly meanIou: number;
  readonly minIou: number;
  readonly mae: number;
}

export interface Probe extends MaskDamage {
  readonly selector: string;
}

/**
 * Most damaging first: the lowest mean IoU against float, then the lowest worst-image IoU, then the
 * largest mean absolute alpha difference (it still ranks probes whose masks all agree at 0.5).
 */
export function rankBySensitivity(probes: readonly Probe[]): Probe[] {
  return [...probes].sort(
    (a, b) =>
      a.meanIou - b.meanIou || a.minIou - b.minIou || b.mae - a.mae || a.selector.localeCompare(b.selector),
  );
}

export interface FidelityGoal {
  readonly meanIou: number;
  readonly minIou: number;
}

export function meetsGoal(damage: MaskDamage, goal: FidelityGoal): boolean {
  return damage.meanIou >= goal.meanIou && damage.minIou >= goal.minIou;
}

export interface GreedyStep<T extends MaskDamage> {
  /** Groups kept in float at this step, most sensitive first. */
  readonly keptFloat: readonly string[];
  readonly result: T;
}

/**
 * Keeps the ranked groups in float one more at a time (most sensitive first), evaluating each
 * step, until `goal` holds or `maxKept` groups are float. Step 0 keeps none of them. Every step is
 * returned: the Pareto curve of fidelity against the number of float groups.
 */
export async function greedyKeepFloat<T extends MaskDamage>(
  ranked: readonly string[],
  evaluate: (keptFloat: readonly string[]) => Promise<T>,
  goal: FidelityGoal,
  maxKept: number,
  /** Steps before this one are skipped (already measured elsewhere). */
  firstKept = 0,
): Promise<GreedyStep<T>[]> {
  if (!Number.isInteger(maxKept) || maxKept < 0)
    throw new Error(`maxKept must be a whole number ≥ 0, not ${maxKept}`);
  const steps: GreedyStep<T>[] = [];
  for (let kept = firstKept; kept <= Math.min(maxKept, ranked.length); kept++) {
    const keptFloat = ranked.slice(0, kept);
    const result = await evaluate(keptFloat);
    steps.push({ keptFloat, result });
    if (meetsGoal(result, goal)) break;
  }
  return steps;
}
