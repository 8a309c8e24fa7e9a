import { describe, expect, it } from 'vitest';
import { floatTensor } from '../../src/quantize/onnx-model.js';
import { quantizeWeight } from '../../src/quantize/qdq.js';

describe('quantizeWeight', () => {
  it('scales each output channel by its own largest magnitude, symmetric around 0', () => {
    // Two output channels of a 1×1 conv with 3 inputs; the second is 100× smaller than the first.
    const weight = floatTensor(
      'w',
      [2, 3, 1, 1],
      Float32Array.of(1.27, -0.635, 0.1, 0.0127, 0.00635, -0.0127),
    );
    const { values, scales } = quantizeWeight(weight);
    expect([...scales]).toEqual([Math.fround(1.27 / 127), Math.fround(0.0127 / 127)]);
    // Per channel, the small channel keeps its full precision instead of rounding to zero.
    expect([...values]).toEqual([127, -64, 10, 127, 64, -127]);
  });

  it('gives an all-zero channel a usable scale and zero values', () => {
    const { values, scales } = quantizeWeight(floatTensor('w', [1, 2, 1, 1], Float32Array.of(0, 0)));
    expect([...scales]).toEqual([1]);
    expect([...values]).toEqual([0, 0]);
  });
});
