import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BlockKind, describeSyntheticModel, writeSyntheticModel } from '../../models/synth/index.js';
import { syntheticModel } from '../support/models.js';

const { onnx } = onnxProto;
type Node = {
  name: string;
  opType: string;
  attribute: { name: string; i?: unknown; ints?: unknown[]; s?: Uint8Array }[];
};

async function buildInMemory(topology: 'u2net' | 'u2netp', seed: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await writeSyntheticModel(topology, seed, (chunk) => {
    chunks.push(Buffer.from(chunk)); // copies: the writer may reuse its buffers
  });
  return Buffer.concat(chunks);
}

function attribute(node: Node, name: string) {
  const found = node.attribute.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`${node.name} has no attribute ${name}`);
  return found;
}

const ints = (node: Node, name: string) => (attribute(node, name).ints ?? []).map(Number);
const text = (node: Node, name: string) => new TextDecoder().decode(attribute(node, name).s);

/** Per RSU kind, from model/u2net.py: RSU-L has 2L convs (each with ReLU), L-2 pools and upsamples. */
function expectedOps(kind: BlockKind): Record<string, number> {
  if (kind === 'RSU4F') return { Conv: 8, Relu: 8, MaxPool: 0, Resize: 0, Concat: 3, Add: 1 };
  const levels = Number(kind.slice(3));
  return {
    Conv: 2 * levels,
    Relu: 2 * levels,
    MaxPool: levels - 2,
    Resize: levels - 2,
    Concat: levels - 1,
    Add: 1,
  };
}

/** A smooth, image-like input normalised like rembg's pre-processing (roughly zero mean, unit spread). */
function imageLike(batch: number): Float32Array {
  const plane = 320 * 320;
  const data = new Float32Array(batch * 3 * plane);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 320; y++) {
        for (let x = 0; x < 320; x++) {
          const inside = (x - 160 - b * 40) ** 2 + (y - 170) ** 2 < 90 ** 2 ? 1 : 0;
          const value = 0.3 * Math.sin((x + 13 * c) / 23) + 0.2 * Math.cos(y / 31) + 1.6 * inside - 0.8;
          data[b * 3 * plane + c * plane + y * 320 + x] = value;
        }
      }
    }
  }
  return data;
}

describe('synthetic U²-Netp graph', () => {
  let bytes: Buffer;
  let nodes: Node[];
  let model: ReturnType<typeof onnx.ModelProto.decode>;

  beforeAll(async () => {
    bytes = await buildInMemory('u2netp', 1);
    model = onnx.ModelProto.decode(bytes);
    nodes = model.graph!.node as Node[];
  });

  it('has the node counts of each RSU block and of the top level', () => {
    const description = describeSyntheticModel('u2netp', 1);
    expect(description.blocks.map((block) => `${block.name}:${block.kind}`)).toEqual([
      'stage1:RSU7',
      'stage2:RSU6',
      'stage3:RSU5',
      'stage4:RSU4',
      'stage5:RSU4F',
      'stage6:RSU4F',
      'stage5d:RSU4F',
      'stage4d:RSU4',
      'stage3d:RSU5',
      'stage2d:RSU6',
      'stage1d:RSU7',
    ]);
    for (const block of description.blocks) {
      const inBlock = nodes.filter((node) => node.name.startsWith(`${block.name}.`));
      const counts: Record<string, number> = { Conv: 0, Relu: 0, MaxPool: 0, Resize: 0, Concat: 0, Add: 0 };
      for (const node of inBlock) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
      expect({ block: block.name, counts }).toEqual({ block: block.name, counts: expectedOps(block.kind) });
    }
    const topLevel = nodes.filter(
      (node) => !description.blocks.some((block) => node.name.startsWith(`${block.name}.`)),
    );
    const count = (op: string) => topLevel.filter((node) => node.opType === op).length;
    // 5 pools between stages; 5 decoder + 5 side upsamples; 5 decoder concats + the side concat;
    // 6 side convs + the 1×1 fusion; a sigmoid per output.
    expect([count('MaxPool'), count('Resize'), count('Concat'), count('Conv'), count('Sigmoid')]).toEqual([
      5, 10, 6, 7, 7,
    ]);
    const fusion = nodes.find((node) => node.name === 'outconv')!;
    expect(ints(fusion, 'kernel_shape')).toEqual([1, 1]);
  });

  it('pools 2×2 with ceil mode and upsamples bilinearly like F.upsample(mode="bilinear")', () => {
    const pools = nodes.filter((node) => node.opType === 'MaxPool');
    expect(pools).toHaveLength(5 + 2 * (5 + 4 + 3 + 2));
    for (const pool of pools) {
      expect(Number(attribute(pool, 'ceil_mode').i)).toBe(1);
      expect(ints(pool, 'kernel_shape')).toEqual([2, 2]);
      expect(ints(pool, 'strides')).toEqual([2, 2]);
    }
    for (const resize of nodes.filter((node) => node.opType === 'Resize')) {
      expect(text(resize, 'mode')).toBe('linear');
      expect(text(resize, 'coordinate_transformation_mode')).toBe('pytorch_half_pixel');
    }
  });

  it('dilates RSU-4F by 1, 2, 4, 8, 4, 2, 1 and the innermost RSU-L conv by 2', () => {
    const dilation = (name: string) => ints(nodes.find((node) => node.name === name)!, 'dilations')[0];
    const rsu4f = [
      'rebnconvin',
      'rebnconv1',
      'rebnconv2',
      'rebnconv3',
      'rebnconv4',
      'rebnconv3d',
      'rebnconv2d',
      'rebnconv1d',
    ];
    expect(rsu4f.map((layer) => dilation(`stage5.${layer}`))).toEqual([1, 1, 2, 4, 8, 4, 2, 1]);
    expect([
      dilation('stage1.rebnconv6'),
      dilation('stage1.rebnconv7'),
      dilation('stage4.rebnconv4'),
    ]).toEqual([1, 2, 2]);
  });

  it('targets opset 13 with a dynamic batch axis on a 3×320×320 input', () => {
    expect(model.opsetImport.map((opset) => [opset.domain, Number(opset.version)])).toEqual([['', 13]]);
    const dims = model.graph!.input![0]!.type!.tensorType!.shape!.dim!;
    expect(dims.map((dim) => dim.dimParam || Number(dim.dimValue))).toEqual(['batch', 3, 320, 320]);
    expect(model.graph!.output!.map((output) => output.name)).toEqual([
      'd0',
      'd1',
      'd2',
      'd3',
      'd4',
      'd5',
      'd6',
    ]);
  });

  it('has the parameter counts of the paper: 1.13 M (U²-Netp) and 44.0 M (U²-Net)', () => {
    const u2netp = describeSyntheticModel('u2netp', 1).parameterCount;
    const u2net = describeSyntheticModel('u2net', 1).parameterCount;
    expect(Math.abs(u2netp - 1.13e6) / 1.13e6).toBeLessThan(0.005);
    expect(Math.abs(u2net - 44.0e6) / 44.0e6).toBeLessThan(0.005);
    // Float32 weights are nearly the whole file: ~4.5 MB and ~176 MB, as the published files.
    expect(bytes.length).toBeGreaterThan(u2netp * 4);
    expect(bytes.length).toBeLessThan(u2netp * 4 + 200_000);
  });

  it('is deterministic by seed', async () => {
    const sha = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex');
    const again = await buildInMemory('u2netp', 1);
    const otherSeed = await buildInMemory('u2netp', 2);
    expect(sha(again)).toBe(sha(bytes));
    expect(sha(otherSeed)).not.toBe(sha(bytes));
    expect(otherSeed.length).toBe(bytes.length);
    const cached = await syntheticModel('u2netp');
    expect(cached.sha256).toBe(sha(bytes));
    expect(sha(await readFile(cached.path))).toBe(cached.sha256);
  });

  it('runs in onnxruntime: seven 1×1×320×320 outputs per image, in range and not saturated', async () => {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
    try {
      const input = new ort.Tensor('float32', imageLike(2), [2, 3, 320, 320]);
      const outputs = await session.run({ [session.inputNames[0]!]: input });
      expect(session.outputNames).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6']);
      for (const name of session.outputNames) {
        const output = outputs[name]!;
        expect(output.dims).toEqual([2, 1, 320, 320]);
        const data = output.data as Float32Array;
        const plane = 320 * 320;
        for (const image of [data.subarray(0, plane), data.subarray(plane)]) {
          let min = 1;
          let max = 0;
          let moderate = 0; // NaN fails this count too
          for (const value of image) {
            min = Math.min(min, value);
            max = Math.max(max, value);
            if (value > 0.02 && value < 0.98) moderate++;
          }
          expect({ name, moderateShare: moderate / plane }).toEqual({ name, moderateShare: 1 });
          expect(max - min, `${name} varies across the image`).toBeGreaterThan(0.02);
        }
        // The output depends on the input: the two images give different masks.
        expect(data.subarray(0, plane)).not.toEqual(data.subarray(plane));
      }
    } finally {
      await session.release();
    }
  });
});

describe('synthetic U²-Net (the large one, built once)', () => {
  it('is a ~176 MB file that onnxruntime runs into seven 1×1×320×320 outputs', async () => {
    const model = await syntheticModel('u2net');
    expect(model.source).toBe('synthetic');
    expect(model.spec.name).toBe('u2net');
    const { size } = await stat(model.path);
    expect(size / 1e6).toBeCloseTo(176, 0);
    const session = await ort.InferenceSession.create(model.path, { intraOpNumThreads: 2 });
    try {
      const input = new ort.Tensor('float32', imageLike(1), [1, 3, 320, 320]);
      const outputs = await session.run({ [session.inputNames[0]!]: input });
      expect(session.outputNames.map((name) => outputs[name]!.dims)).toEqual(Array(7).fill([1, 1, 320, 320]));
      const fused = outputs.d0!.data as Float32Array;
      expect(Math.min(...fused)).toBeGreaterThan(0.02);
      expect(Math.max(...fused)).toBeLessThan(0.98);
    } finally {
      await session.release();
    }
  }, 180_000);
});
