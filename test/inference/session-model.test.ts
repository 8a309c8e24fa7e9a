import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openModelSession } from '../../src/inference/session.js';
import { sessionModel } from '../../src/inference/session-model.js';
import { findModel } from '../../src/models/registry.js';
import {
  DataType,
  decodeModel,
  encodeModel,
  floatValueInfo,
  intAttribute,
  makeNode,
} from '../../src/quantize/onnx-model.js';

// y = x × w with w = 2 stored as float16 and cast to float32: an fp16 file as keep_io_types writes it.
function fp16Model(): Uint8Array {
  const half = new Uint16Array([0x4000]); // 2.0
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'fp16',
      input: [floatValueInfo('x')],
      output: [floatValueInfo('y')],
      initializer: [
        { name: 'w16', dims: [1], dataType: DataType.FLOAT16, rawData: new Uint8Array(half.buffer) },
      ],
      node: [
        makeNode('Cast', 'widen', ['w16'], ['w'], [intAttribute('to', DataType.FLOAT)]),
        makeNode('Mul', 'scale', ['x', 'w'], ['y']),
      ],
    },
  });
}

const dir = await mkdtemp(join(tmpdir(), 'clearcut-session-model-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const settings = { threads: 1, memoryArena: false, memoryPattern: false, spinning: false };

it('widens a local fp16 file to float32 once, under its digest, and the session runs the widened file', async () => {
  const path = join(dir, 'fp16.onnx');
  await writeFile(path, fp16Model());
  const local = { spec: findModel('u2netp'), path, sha256: 'f'.repeat(64), source: 'weights' } as const;
  const model = await sessionModel(local, dir);
  expect(model).toBe(join(dir, `clearcut-fp32-${'f'.repeat(64)}.onnx`));
  const initializer = decodeModel(await readFile(model)).graph?.initializer?.[0];
  expect(initializer?.dataType).toBe(DataType.FLOAT);
  await rm(path);
  expect(await sessionModel(local, dir)).toBe(model); // the widened copy is reused, the source not read
  const session = await openModelSession(model, settings);
  try {
    const result = await session.run(new Float32Array([1.5, -3]), [2], 'y');
    expect([...result.data]).toEqual([3, -6]);
  } finally {
    await session.close();
  }
});

it('loads a local float32 file by its path', async () => {
  const path = join(dir, 'fp32.onnx');
  const widened = await sessionModel({
    spec: findModel('u2netp'),
    path: await written(path),
    sha256: 'e'.repeat(64),
    source: 'weights',
  });
  expect(widened).toBe(path);
});

it('never reads published weights or synthetic stand-ins: float32 by construction', async () => {
  const missing = join(dir, 'not-there.onnx');
  const u2net = findModel('u2net');
  expect(await sessionModel({ spec: u2net, path: missing, sha256: u2net.sha256, source: 'weights' })).toBe(
    missing,
  );
  expect(
    await sessionModel({ spec: u2net, path: missing, sha256: 'd'.repeat(64), source: 'synthetic' }),
  ).toBe(missing);
});

async function written(path: string): Promise<string> {
  const model = decodeModel(fp16Model());
  const tensor = model.graph!.initializer![0]!;
  tensor.dataType = DataType.FLOAT;
  tensor.rawData = new Uint8Array(new Float32Array([2]).buffer);
  await writeFile(path, encodeModel(model));
  return path;
}
