import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { PermanentError } from '../../src/errors.js';
import { normalizeForModel, resizeForModel } from '../../src/images/model-input.js';
import { createEngine, type Engine } from '../../src/inference/engine.js';
import { predictionToMask, resizeMask } from '../../src/inference/postprocess.js';
import { removeBackground } from '../../src/inference/remove.js';
import type { ResolvedModel } from '../../src/models/registry.js';
import { decoded, encode, rectangleScene } from '../support/images.js';
import { syntheticModel } from '../support/models.js';

const limits = { maxInputBytes: 10_000_000, maxInputPixels: 10_000_000, decodeTimeoutMs: 30_000 };
const scene = rectangleScene({
  width: 90,
  height: 60,
  subject: { left: 30, top: 20, width: 30, height: 20 },
});

let model: ResolvedModel;
let engine: Engine;

beforeAll(async () => {
  model = await syntheticModel('u2netp');
  engine = await createEngine(model, { threads: 1 });
});

afterAll(async () => {
  await engine?.close();
});

async function modelInvalid(creating: Promise<Engine>): Promise<PermanentError> {
  const error = await creating.then(
    async (created) => {
      await created.close();
      return undefined;
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect((error as PermanentError).code).toBe('model_invalid');
  return error as PermanentError;
}

describe('engine', () => {
  it('gives exactly the mask of the rembg chain run step by step on ONNX Runtime directly', async () => {
    const image = decoded(scene);
    const mask = await engine.predictMask(image);
    expect(mask).toHaveLength(90 * 60);

    const tensor = normalizeForModel(await resizeForModel(image, 320), 320, model.spec);
    const session = await ort.InferenceSession.create(model.path, { intraOpNumThreads: 1 });
    try {
      const outputs = await session.run({
        [session.inputNames[0]!]: new ort.Tensor('float32', tensor, [1, 3, 320, 320]),
      });
      const prediction = outputs[session.outputNames[model.spec.outputIndex]!]!.data as Float32Array;
      const expected = await resizeMask(predictionToMask(prediction, 320), 320, 90, 60);
      expect(Buffer.from(mask).equals(Buffer.from(expected))).toBe(true);
    } finally {
      await session.release();
    }
  });

  it('keeps the event loop free while the model runs', async () => {
    let finished = false;
    const inference = engine.predictMask(decoded(scene)).then(() => {
      finished = true;
    });
    // Three timer turns in a row: on a loop blocked by a synchronous run they all wait for it.
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(finished).toBe(false);
    await inference;
  });

  it('serves concurrent callers with the same answers', async () => {
    const image = decoded(scene);
    const [first, second, third] = await Promise.all([1, 2, 3].map(() => engine.predictMask(image)));
    expect(Buffer.from(first!).equals(Buffer.from(second!))).toBe(true);
    expect(Buffer.from(second!).equals(Buffer.from(third!))).toBe(true);
  });

  it('records where the time goes', async () => {
    const timings = { preprocessMs: -1, inferenceMs: -1, ortMs: -1, postprocessMs: -1 };
    await engine.predictMask(decoded(scene), timings);
    expect(timings.ortMs).toBeGreaterThan(0);
    expect(timings.inferenceMs).toBeGreaterThanOrEqual(timings.ortMs);
    expect(timings.preprocessMs).toBeGreaterThanOrEqual(0);
    expect(timings.postprocessMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses a file that is not an ONNX model, saying how to fix it', async () => {
    const path = join(tmpdir(), `clearcut-not-a-model-${process.pid}.onnx`);
    await writeFile(path, 'this is not a protobuf');
    const error = await modelInvalid(createEngine({ ...model, path }, { threads: 1 }));
    expect(error.message).toContain('clearcut models pull u2netp --force');
  });

  it('refuses a model whose input size or output index differs from its registry entry', async () => {
    const wrongSize = await modelInvalid(
      createEngine({ ...model, spec: { ...model.spec, inputSize: 1024 } }, { threads: 1 }),
    );
    expect(wrongSize.message).toContain('expected [N×3×1024×1024]');
    const wrongOutput = await modelInvalid(
      createEngine({ ...model, spec: { ...model.spec, outputIndex: 7 } }, { threads: 1 }),
    );
    expect(wrongOutput.message).toContain('output 7 does not exist (the graph has 7)');
  });

  it('rejects work after close, and closes once however often asked', async () => {
    const closing = await createEngine(model, { threads: 1 });
    const first = closing.close();
    expect(closing.close()).toBe(first);
    await first;
    await expect(closing.predictMask(decoded(scene))).rejects.toThrow(/closed/);
  });
});

describe('removeBackground', () => {
  it('turns one JPEG into every rendition at the source size from one inference', async () => {
    const jpeg = await encode(scene.rgb, 90, 60, 3, 'jpeg');
    const renditions = renditionListSchema.parse([
      { kind: 'cutout' },
      { kind: 'mask' },
      { kind: 'white' },
      { kind: 'crop' },
    ]);
    const result = await removeBackground(engine, jpeg, renditions, limits);
    expect(result).toMatchObject({ width: 90, height: 60, sourceFormat: 'jpeg' });
    expect(result.outputs.map((output) => output.rendition.kind)).toEqual([
      'cutout',
      'mask',
      'white',
      'crop',
    ]);
    for (const output of result.outputs.slice(0, 3)) expect([output.width, output.height]).toEqual([90, 60]);
    expect(result.timings.decodeMs).toBeGreaterThan(0);
    expect(result.timings.ortMs).toBeGreaterThan(0);
  });

  it('refuses a hostile input before it reaches the model', async () => {
    const error = await removeBackground(
      engine,
      Buffer.from('<html>not an image</html>'),
      renditionListSchema.parse(undefined),
      limits,
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe('unsupported_format');
  });
});
