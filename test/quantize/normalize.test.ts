import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import { normalizeModel } from '../../src/quantize/normalize.js';
import {
  DataType,
  encodeModel,
  floatTensor,
  floatValues,
  halfToFloat,
  intAttribute,
  type ModelProto,
  makeNode,
  type NodeProto,
  type TensorProto,
} from '../../src/quantize/onnx-model.js';
import { opCounts } from './support.js';

const intsAttribute = (name: string, ints: number[]) => ({ name, type: 7, ints });

const io = (name: string, elemType: number, dims: number[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } },
});

function model(
  opset: number,
  nodes: NodeProto[],
  initializer: TensorProto[],
  outputs = [io('y', DataType.FLOAT, [1, 2, 3, 3])],
): ModelProto {
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'test',
      node: nodes,
      initializer,
      input: [io('x', DataType.FLOAT, [1, 1, 3, 3])],
      output: outputs,
    },
  };
}

/** Halves that are exact in float16: 0.5, -1.25, 2, ... */
function halfTensor(name: string, dims: number[], values: number[]): TensorProto {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => {
    const sign = value < 0 ? 0x8000 : 0;
    const magnitude = Math.abs(value);
    const exponent = Math.floor(Math.log2(magnitude));
    const fraction = Math.round((magnitude / 2 ** exponent - 1) * 1024);
    view.setUint16(i * 2, value === 0 ? 0 : sign | ((exponent + 15) << 10) | fraction, true);
  });
  return { name, dims, dataType: DataType.FLOAT16, rawData: bytes };
}

async function run(bytes: Uint8Array, input: Float32Array, outputs: string[]) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ x: new ort.Tensor('float32', input, [1, 1, 3, 3]) }, outputs);
    return outputs.map((name) => result[name]!.data);
  } finally {
    await session.release();
  }
}

const input = Float32Array.from({ length: 9 }, (_, i) => i - 4);
const weights = [0.5, -1.25, 2, 0.25, 1, -0.5, 0.75, 1.5, -2, 0.5, 0.25, -1, 1, 1, -0.75, 0.5, 2, -0.25];

describe('normalizeModel', () => {
  it('upcasts an fp16 export to float32 and removes its casts, computing the same values', async () => {
    // As onnxconverter-common writes it (keep_io_types): float I/O, casts at the boundaries, the
    // output cast appended last, out of dependency order.
    const fp16 = model(
      15,
      [
        makeNode('Cast', 'in_cast', ['x'], ['x16'], [intAttribute('to', DataType.FLOAT16)]),
        makeNode('Conv', 'conv', ['x16', 'w', 'b'], ['c'], [intsAttribute('pads', [1, 1, 1, 1])]),
        makeNode('Relu', 'relu', ['c'], ['r']),
        makeNode('Cast', 'out_cast', ['r'], ['y'], [intAttribute('to', DataType.FLOAT)]),
      ].reverse(),
      [halfTensor('w', [2, 1, 3, 3], weights), halfTensor('b', [2], [0.5, -1])],
    );
    const normalized = normalizeModel(fp16);
    expect(opCounts(normalized)).toEqual({ Conv: 1, Relu: 1 });
    expect(normalized.graph!.node!.map((node) => node.opType)).toEqual(['Conv', 'Relu']);
    // The Relu now writes the graph output itself, so the output keeps its name.
    expect(normalized.graph!.node![1]!.output).toEqual(['y']);
    expect(normalized.graph!.initializer!.map((tensor) => tensor.dataType)).toEqual([
      DataType.FLOAT,
      DataType.FLOAT,
    ]);
    expect([...floatValues(normalized.graph!.initializer![0]!)]).toEqual(weights);

    const reference = model(
      15,
      [
        makeNode('Conv', 'conv', ['x', 'w', 'b'], ['c'], [intsAttribute('pads', [1, 1, 1, 1])]),
        makeNode('Relu', 'relu', ['c'], ['y']),
      ],
      [
        floatTensor('w', [2, 1, 3, 3], Float32Array.from(weights)),
        floatTensor('b', [2], Float32Array.of(0.5, -1)),
      ],
    );
    const [expected] = await run(encodeModel(reference), input, ['y']);
    const [actual] = await run(encodeModel(normalized), input, ['y']);
    expect([...(actual as Float32Array)]).toEqual([...(expected as Float32Array)]);
  });

  it('decodes float16 values', () => {
    expect([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00].map(halfToFloat)).toEqual([
      1,
      -2,
      0.5,
      2 ** -24,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('raises opset 11 to 13, moving Unsqueeze axes into an input', async () => {
    const old = model(
      11,
      [
        makeNode('Relu', 'relu', ['x'], ['y']),
        makeNode('Shape', 'shape', ['x'], ['s']),
        makeNode('Unsqueeze', 'unsqueeze', ['s'], ['u'], [intsAttribute('axes', [0])]),
      ],
      [],
      [io('y', DataType.FLOAT, [1, 1, 3, 3]), io('u', DataType.INT64, [1, 4])],
    );
    const raised = normalizeModel(old);
    expect(raised.opsetImport).toEqual([{ domain: '', version: 13 }]);
    const unsqueeze = raised.graph!.node!.find((node) => node.opType === 'Unsqueeze')!;
    expect(unsqueeze.input).toEqual(['s', 'unsqueeze.axes']);
    expect(unsqueeze.attribute).toEqual([]);
    const [relu, shape] = await run(encodeModel(raised), input, ['y', 'u']);
    expect([...(relu as Float32Array)]).toEqual([...input].map((value) => Math.max(0, value)));
    expect([...(shape as BigInt64Array)]).toEqual([1n, 1n, 3n, 3n]);
  });

  it('refuses to raise an old opset over ops whose meaning changed, saying what to do', () => {
    const old = model(11, [makeNode('Split', 'split', ['x'], ['y'], [intAttribute('axis', 1)])], []);
    let error: unknown;
    try {
      normalizeModel(old);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe('model_unsupported');
    expect((error as PermanentError).message).toMatch(/opset 11.*this one also has Split.*opset_version=13/);
  });

  it('refuses a graph whose node reads a tensor nothing produces', () => {
    const broken = model(13, [makeNode('Relu', 'relu', ['nowhere'], ['y'])], []);
    expect(() => normalizeModel(broken)).toThrow(/relu reads nowhere, which nothing produces/);
  });
});
