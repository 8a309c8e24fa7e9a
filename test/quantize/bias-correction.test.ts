// Empirical bias correction: the per-channel mean shift of each conv's output between a quantized
// and a float model, measured in ONNX Runtime, and taken off the bias when the int8 model is written.
import { beforeAll, describe, expect, it } from 'vitest';
import { findModel } from '../../src/models/registry.js';
import { addShifts, correctedBias, measureBiasShifts } from '../../src/quantize/bias-correction.js';
import type { CalibrationInput } from '../../src/quantize/calibrate.js';
import { collectStatistics } from '../../src/quantize/calibrate.js';
import { calibrationInputs, generatedImages } from '../../src/quantize/calibration-images.js';
import {
  decodeModel,
  floatTensor,
  floatValueInfo,
  type ModelProto,
  makeNode,
} from '../../src/quantize/onnx-model.js';
import { openOrtProbe } from '../../src/quantize/ort-probe.js';
import { planModel, prepareQuantization, writeQuantized } from '../../src/quantize/quantize.js';
import { u2netpBytes } from './support.js';

/** input (1×1×2×2) → 1×1 Conv with 2 output channels, weights `weights`, bias (0.5, −1) → output. */
function oneConv(weights: readonly number[]): ModelProto {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'one-conv',
      input: [floatValueInfo('input')],
      output: [floatValueInfo('output')],
      initializer: [
        floatTensor('w', [2, 1, 1, 1], Float32Array.from(weights)),
        floatTensor('b', [2], Float32Array.of(0.5, -1)),
      ],
      node: [makeNode('Conv', 'conv', ['input', 'w', 'b'], ['output'])],
    },
  };
}

describe('measureBiasShifts', () => {
  it('is the mean output difference per channel over all inputs and pixels', async () => {
    const inputs: CalibrationInput[] = [
      { data: Float32Array.of(1, 2, 3, 4), dims: [1, 1, 2, 2] }, // mean 2.5
      { data: Float32Array.of(0, 0, 1, 1), dims: [1, 1, 2, 2] }, // mean 0.5
    ];
    const float = oneConv([1, 2]);
    const conv = float.graph!.node![0]!;
    const shifts = await measureBiasShifts(float, oneConv([1.5, 1.75]), [conv], inputs, openOrtProbe, {
      threads: 1,
    });
    // (w' − w) × mean input, mean input over both images 1.5.
    expect([...shifts.get('b')!]).toEqual([expect.closeTo(0.75, 6), expect.closeTo(-0.375, 6)]);
  });
});

describe('correctedBias and addShifts', () => {
  it('subtract the shift per channel and add rounds of shifts up', () => {
    expect([...correctedBias(Float32Array.of(1, 2), Float32Array.of(0.25, -0.5))]).toEqual([0.75, 2.5]);
    expect(correctedBias(Float32Array.of(1, 2), undefined)).toEqual(Float32Array.of(1, 2));
    expect(() => correctedBias(Float32Array.of(1, 2), Float32Array.of(1))).toThrow(/1 channels, the bias 2/);
    const sum = addShifts(
      new Map([['b', Float32Array.of(1, 2)]]),
      new Map([
        ['b', Float32Array.of(0.5, 0.5)],
        ['c', Float32Array.of(3)],
      ]),
    );
    expect([...sum.get('b')!]).toEqual([1.5, 2.5]);
    expect([...sum.get('c')!]).toEqual([3]);
  });
});

describe('bias correction on U²-Netp', () => {
  let inputs: CalibrationInput[];
  beforeAll(async () => {
    inputs = await calibrationInputs(await generatedImages(1), findModel('u2netp'));
  });

  it('takes the measured shift off the int8 biases, so the first conv is left without one', async () => {
    const prepared = prepareQuantization(await u2netpBytes(), []);
    const statistics = await collectStatistics(prepared.model, prepared.targets, inputs, openOrtProbe, {
      threads: 1,
      histograms: true,
    });
    const recipe = { method: 'percentile' as const, percentile: 99.99, keepFloat: [] };
    const planned = planModel(prepared.model, recipe.keepFloat);
    const convs = planned.index.nodes.filter((node) => node.opType === 'Conv');
    const measure = async (shifts: Map<string, Float32Array>) =>
      measureBiasShifts(
        prepared.model,
        decodeModel(writeQuantized(planned, statistics, recipe, shifts).bytes),
        convs,
        inputs,
        openOrtProbe,
        { threads: 1 },
      );
    const before = await measure(new Map());
    const after = await measure(before);
    expect(before.size).toBe(convs.length);
    // The first conv reads the (quantized) image, not other convs: its shift is all its own, and
    // the corrected bias cancels it up to the int32 rounding of the bias.
    const first = convs[0]!.input![2]!;
    const firstBefore = Math.max(...[...before.get(first)!].map(Math.abs));
    expect(firstBefore).toBeGreaterThan(0);
    expect(Math.max(...[...after.get(first)!].map(Math.abs))).toBeLessThan(firstBefore / 10);
  }, 480_000);
});
