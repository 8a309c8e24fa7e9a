import { describe, expect, it } from 'vitest';
import { indexGraph } from '../../src/quantize/graph-index.js';
import { makeNode } from '../../src/quantize/onnx-model.js';
import {
  greedyKeepFloat,
  layerGroups,
  type MaskDamage,
  meetsGoal,
  type Probe,
  rankBySensitivity,
} from '../../src/quantize/sensitivity.js';

const conv = (name: string, input: string, output: string) =>
  makeNode('Conv', name, [input, `${name}.w`], [output]);

describe('layerGroups', () => {
  const nodes = [
    conv('/conv_in/Conv', 'input', 'a'),
    conv('/stage1/rebnconvin/conv_s1/Conv', 'a', 'b'),
    makeNode('Relu', '/stage1/rebnconvin/relu_s1/Relu', ['b'], ['c']),
    conv('/stage1/rebnconv1/conv_s1/Conv', 'c', 'd'),
    makeNode('MaxPool', '/pool12/MaxPool', ['d'], ['e']),
    conv('/stage2/rebnconvin/conv_s1/Conv', 'e', 'f'),
    conv('outconv', 'f', 'g'),
  ];
  const index = indexGraph({ node: nodes });

  it('groups convs by the first component of their names and counts them', () => {
    expect(layerGroups(index, new Set())).toEqual([
      { selector: '/conv_in/*', convs: 1 },
      { selector: '/stage1/*', convs: 2 },
      { selector: '/stage2/*', convs: 1 },
      { selector: 'outconv', convs: 1 },
    ]);
  });

  it('leaves out convs the recipe already keeps in float', () => {
    const kept = new Set([nodes[0]!, nodes[6]!]);
    expect(layerGroups(index, kept).map((group) => group.selector)).toEqual(['/stage1/*', '/stage2/*']);
  });
});

describe('rankBySensitivity', () => {
  const probe = (selector: string, meanIou: number, minIou: number, mae: number): Probe => ({
    selector,
    meanIou,
    minIou,
    mae,
  });

  it('puts the lowest mean IoU first, then the lowest worst image, then the largest MAE', () => {
    const ranked = rankBySensitivity([
      probe('a', 0.99, 0.98, 0.001),
      probe('b', 0.95, 0.9, 0.002),
      probe('c', 0.99, 0.97, 0.001),
      probe('d', 0.99, 0.97, 0.003),
    ]);
    expect(ranked.map((p) => p.selector)).toEqual(['b', 'd', 'c', 'a']);
  });

  it('does not reorder its input', () => {
    const probes = [probe('a', 0.99, 0.99, 0), probe('b', 0.9, 0.9, 0)];
    rankBySensitivity(probes);
    expect(probes.map((p) => p.selector)).toEqual(['a', 'b']);
  });
});

describe('greedyKeepFloat', () => {
  const goal = { meanIou: 0.98, minIou: 0.95 };
  // Each group kept in float adds its share of fidelity back.
  const gain: Record<string, number> = { x: 0.02, y: 0.01, z: 0.005 };
  const evaluate = async (kept: readonly string[]): Promise<MaskDamage> => {
    const meanIou = 0.955 + kept.reduce((sum, group) => sum + gain[group]!, 0);
    return { meanIou, minIou: meanIou - 0.02, mae: 0 };
  };

  it('keeps the most sensitive groups one at a time and stops once the goal holds', async () => {
    const steps = await greedyKeepFloat(['x', 'y', 'z'], evaluate, goal, 3);
    expect(steps.map((step) => step.keptFloat)).toEqual([[], ['x'], ['x', 'y']]);
    expect(meetsGoal(steps.at(-1)!.result, goal)).toBe(true);
  });

  it('stops at maxKept when the goal is out of reach, returning every step', async () => {
    const steps = await greedyKeepFloat(['z', 'y'], evaluate, { meanIou: 1, minIou: 1 }, 5);
    expect(steps.map((step) => step.keptFloat)).toEqual([[], ['z'], ['z', 'y']]);
    expect(steps.some((step) => meetsGoal(step.result, goal))).toBe(false);
  });

  it('starts at firstKept when the earlier steps were measured elsewhere', async () => {
    const steps = await greedyKeepFloat(['x', 'y', 'z'], evaluate, goal, 3, 1);
    expect(steps.map((step) => step.keptFloat)).toEqual([['x'], ['x', 'y']]);
  });

  it('refuses a maxKept that is not a whole number ≥ 0', async () => {
    await expect(greedyKeepFloat(['x'], evaluate, goal, -1)).rejects.toThrow(/maxKept/);
    await expect(greedyKeepFloat(['x'], evaluate, goal, 1.5)).rejects.toThrow(/maxKept/);
  });
});
