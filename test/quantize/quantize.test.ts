// The quantized graph as ONNX Runtime sees it: loads, fuses into int8 kernels (checked on the graph
// ORT writes after optimising), keeps the layers asked for in float, and still computes a mask.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findModel } from '../../src/models/registry.js';
import type { CalibrationInput } from '../../src/quantize/calibrate.js';
import { calibrationInputs, generatedImages } from '../../src/quantize/calibration-images.js';
import { DataType, decodeModel, type ModelProto } from '../../src/quantize/onnx-model.js';
import { openOrtProbe, optimizedOpCounts } from '../../src/quantize/ort-probe.js';
import { type QuantizeOptions, quantizeModel } from '../../src/quantize/quantize.js';
import { metadataOf, u2netpBytes } from './support.js';

let dir: string;
let inputs: CalibrationInput[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearcut-quantize-'));
  // One image: enough for a valid graph, and the machine has two cores.
  inputs = await calibrationInputs(await generatedImages(1), findModel('u2netp'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options: QuantizeOptions = {
  method: 'percentile',
  percentile: 99.99,
  keepFloat: [],
  threads: 1,
};

/** Quantizes U²-Netp and returns the int8 model and the graph ONNX Runtime optimised it into. */
async function quantizeAndOptimize(name: string, overrides: Partial<QuantizeOptions>) {
  const { bytes, report } = await quantizeModel(await u2netpBytes(), inputs, openOrtProbe, {
    ...options,
    ...overrides,
  });
  const path = join(dir, `${name}.onnx`);
  await writeFile(path, bytes);
  return { path, model: decodeModel(bytes), counts: await optimizedOpCounts(path, 1), report };
}

const initializer = (model: ModelProto, name: string) =>
  model.graph?.initializer?.find((tensor) => tensor.name === name);

describe('quantizeModel on U²-Netp', () => {
  it('writes a graph ONNX Runtime fuses entirely into int8 kernels', async () => {
    const { path, model, counts, report } = await quantizeAndOptimize('all', {});
    expect(report.quantizedNodes).toEqual({
      Conv: 119,
      Relu: 112,
      MaxPool: 33,
      Concat: 51,
      Resize: 38,
      Add: 11,
    });
    expect(Number(model.opsetImport?.find((entry) => !entry.domain)?.version)).toBe(13);
    expect(counts).toMatchObject({ QLinearConv: 119, QLinearConcat: 51, QLinearAdd: 11 });
    // No float convolution is left, and every Relu went with its zero point.
    expect(counts.Conv ?? 0).toBe(0);
    expect(counts.FusedConv ?? 0).toBe(0);
    expect(counts.Relu ?? 0).toBe(0);
    // Max-pooling runs on uint8 directly; only the linear Resizes dequantize (ORT 1.30 has no int8 one).
    expect(counts.MaxPool ?? 0).toBe(0);
    expect(counts.Resize).toBe(38);

    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
    const input = inputs[0]!;
    const result = await session.run({ input: new ort.Tensor('float32', input.data, [...input.dims]) });
    await session.release();
    const mask = result.d0!.data as Float32Array;
    expect(mask).toHaveLength(320 * 320);
    expect(mask.every((value) => value >= 0 && value <= 1)).toBe(true);
  });

  it('keeps the chosen layers in float: float weights, float kernels, nothing else', async () => {
    const { model, counts, report } = await quantizeAndOptimize('kept', {
      keepFloat: ['first', 'sides', 'fusion'],
    });
    expect(report.keptFloat).toContain('stage1.rebnconvin');
    expect(report.keptFloat).toContain('outconv');
    for (const name of ['stage1.rebnconvin', 'side1', 'side6', 'outconv']) {
      expect(initializer(model, `${name}.weight`)?.dataType).toBe(DataType.FLOAT);
      expect(initializer(model, `${name}.weight_quantized`)).toBeUndefined();
    }
    expect(initializer(model, 'stage1.rebnconv1.weight_quantized')?.dataType).toBe(DataType.INT8);
    expect(initializer(model, 'stage1.rebnconv1.bias_quantized')?.dataType).toBe(DataType.INT32);
    expect(counts.QLinearConv).toBe(119 - 8);
    // The first conv keeps its Relu (fused by ORT), the heads are plain float convolutions.
    expect((counts.Conv ?? 0) + (counts.FusedConv ?? 0)).toBe(8);
  });

  it('records how it was made in the model metadata', async () => {
    const { bytes } = await quantizeModel(await u2netpBytes(), inputs, openOrtProbe, {
      ...options,
      method: 'minmax',
      keepFloat: ['sides'],
      metadata: { 'clearcut.quantized.base': 'u2netp' },
    });
    expect(metadataOf(decodeModel(bytes))).toMatchObject({
      'clearcut.quantized': 'int8-qdq',
      'clearcut.quantized.method': 'minmax',
      'clearcut.quantized.keep_float': 'sides',
      'clearcut.quantized.base': 'u2netp',
      'clearcut.synthetic': 'true',
    });
  });
});
