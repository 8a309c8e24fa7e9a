import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import type { GraphIndex } from '../../src/quantize/graph-index.js';
import { planQuantization, type QuantizationPlan } from '../../src/quantize/plan.js';
import { u2netpIndex } from './support.js';

function quantizedCounts(plan: QuantizationPlan): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of plan.quantized) counts[node.opType ?? ''] = (counts[node.opType ?? ''] ?? 0) + 1;
  return counts;
}

const planned = (plan: QuantizationPlan, tensor: string) =>
  plan.activations.find((activation) => activation.tensor === tensor);

describe('planQuantization on U²-Netp', () => {
  let index: GraphIndex;

  it('puts every conv, concat, add, max-pool and resize on the int8 path, never a sigmoid', async () => {
    index = await u2netpIndex();
    const plan = planQuantization(index, []);
    expect(quantizedCounts(plan)).toEqual({
      Conv: 119,
      Relu: 112,
      MaxPool: 33,
      Concat: 51,
      Resize: 38,
      Add: 11,
    });
    expect(plan.keptFloat).toEqual([]);
    // The image input feeds the first (quantized) conv, so it is quantized too.
    expect(planned(plan, 'input')).toEqual({ tensor: 'input', nonNegative: false });
  });

  it('pairs the Relu output, not the conv output it fuses with, and zero-anchors it', async () => {
    index ??= await u2netpIndex();
    const plan = planQuantization(index, []);
    expect(planned(plan, 'stage1.rebnconvin.conv')).toBeUndefined();
    expect(planned(plan, 'stage1.rebnconvin')).toEqual({ tensor: 'stage1.rebnconvin', nonNegative: true });
    // Conv outputs with no Relu (the side heads) are paired themselves.
    expect(planned(plan, 'side1')).toEqual({ tensor: 'side1', nonNegative: false });
    const convOutputs = index.nodes.filter((node) => node.opType === 'Conv').map((node) => node.output![0]!);
    const paired = convOutputs.filter((tensor) => planned(plan, tensor));
    expect(paired.sort()).toEqual(['outconv', 'side1', 'side2', 'side3', 'side4', 'side5', 'side6']);
  });

  it('lets max-pool and resize outputs reuse their input parameters', async () => {
    index ??= await u2netpIndex();
    const plan = planQuantization(index, []);
    expect(planned(plan, 'pool12')).toEqual({
      tensor: 'pool12',
      sharesWith: 'stage1.residual',
      nonNegative: false,
    });
    expect(planned(plan, 'side2.up')).toEqual({
      tensor: 'side2.up',
      sharesWith: 'side2',
      nonNegative: false,
    });
    // Sigmoid outputs are graph outputs and stay float.
    expect(planned(plan, 'd0')).toBeUndefined();
  });

  it('keeps the first conv, the side heads and the fusion in float by group name', async () => {
    index ??= await u2netpIndex();
    const plan = planQuantization(index, ['first', 'sides', 'fusion']);
    expect([...plan.keptFloat.map((node) => node.name)].sort()).toEqual(
      [
        'outconv',
        'side.cat',
        'side1',
        'side2',
        'side2.up',
        'side3',
        'side3.up',
        'side4',
        'side4.up',
        'side5',
        'side5.up',
        'side6',
        'side6.up',
        'stage1.rebnconvin',
        'stage1.rebnconvin.relu',
      ].sort(),
    );
    expect(quantizedCounts(plan)).toMatchObject({ Conv: 119 - 8, Relu: 111, Resize: 38 - 5, Concat: 50 });
    // Nothing quantized reads the image any more; the kept conv's Relu output still feeds int8 convs.
    expect(planned(plan, 'input')).toBeUndefined();
    expect(planned(plan, 'stage1.rebnconvin')).toBeDefined();
    expect(planned(plan, 'side1')).toBeUndefined();
  });

  it('takes node names with * wildcards', async () => {
    index ??= await u2netpIndex();
    const plan = planQuantization(index, ['stage6.*']);
    const kept = plan.keptFloat.map((node) => node.name ?? '');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((name) => name.startsWith('stage6.'))).toBe(true);
    expect([...plan.quantized].some((node) => node.name?.startsWith('stage6.'))).toBe(false);
  });

  it('refuses a selector that matches nothing, with examples of real names', async () => {
    index ??= await u2netpIndex();
    let error: unknown;
    try {
      planQuantization(index, ['stage9.*']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe('keep_float_unmatched');
    expect((error as PermanentError).message).toContain(
      '--keep-float stage9.*: no node of the graph has that name',
    );
    expect((error as PermanentError).message).toContain('stage1.rebnconvin');
  });
});
