import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../src/errors.js';
import { createEngine } from '../../src/inference/engine.js';
import { resolveLocalModel } from '../../src/models/local-model.js';
import { findModel } from '../../src/models/registry.js';
import { decoded, rectangleScene } from '../support/images.js';
import { syntheticModel } from '../support/models.js';

let dir: string;
let modelFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearcut-local-model-'));
  modelFile = join(dir, 'converted.onnx');
  await copyFile((await syntheticModel('u2netp')).path, modelFile);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256Of = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

async function refusal(resolving: Promise<unknown>): Promise<PermanentError> {
  const error = await resolving.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PermanentError);
  return error as PermanentError;
}

describe('resolveLocalModel', () => {
  it('takes the family processing and the digest of the file itself', async () => {
    const model = await resolveLocalModel(modelFile, 'u2netp');
    const family = findModel('u2netp');
    expect(model.path).toBe(modelFile);
    expect(model.source).toBe('weights');
    expect(model.sha256).toBe(await sha256Of(modelFile));
    expect(model.sha256).not.toBe(family.sha256);
    expect(model.spec).toMatchObject({
      name: 'u2netp',
      file: 'converted.onnx',
      sha256: model.sha256,
      inputSize: family.inputSize,
      mean: family.mean,
      std: family.std,
      outputIndex: family.outputIndex,
      synthetic: undefined,
    });
  });

  it('gives the engine a model it loads and runs like a registry one', async () => {
    const engine = await createEngine(await resolveLocalModel(modelFile, 'u2netp'), { threads: 1 });
    try {
      const scene = rectangleScene({
        width: 40,
        height: 30,
        subject: { left: 10, top: 10, width: 20, height: 10 },
      });
      expect(await engine.predictMask(decoded(scene))).toHaveLength(40 * 30);
    } finally {
      await engine.close();
    }
  });

  it('resolves a relative path against the working directory', async () => {
    const model = await resolveLocalModel(relative(process.cwd(), modelFile), 'u2netp');
    expect(model.path).toBe(modelFile);
  });

  it('hashes again when the file changes', async () => {
    const changing = join(dir, 'changing.onnx');
    await writeFile(changing, 'first version');
    const first = await resolveLocalModel(changing, 'isnet-general-use');
    await writeFile(changing, 'second version, longer');
    const second = await resolveLocalModel(changing, 'isnet-general-use');
    expect(first.sha256).toBe(createHash('sha256').update('first version').digest('hex'));
    expect(second.sha256).toBe(createHash('sha256').update('second version, longer').digest('hex'));
  });

  it('applies normalisation overrides and keeps the rest of the family', async () => {
    const model = await resolveLocalModel(modelFile, 'isnet-general-use', { mean: [0.5, 0.5, 0.5] });
    expect(model.spec.mean).toEqual([0.5, 0.5, 0.5]);
    expect(model.spec.std).toEqual(findModel('isnet-general-use').std);
    expect(model.spec.inputSize).toBe(1024);
  });

  it('refuses a missing file, naming it', async () => {
    const missing = join(dir, 'nope.onnx');
    const error = await refusal(resolveLocalModel(missing, 'u2netp'));
    expect(error.code).toBe('model_missing');
    expect(error.message).toContain(missing);
  });

  it('refuses a directory', async () => {
    const folder = join(dir, 'folder.onnx');
    await mkdir(folder, { recursive: true });
    const error = await refusal(resolveLocalModel(folder, 'u2netp'));
    expect(error.code).toBe('model_missing');
    expect(error.message).toContain('not a regular file');
  });

  it('refuses an unknown family, listing the known ones', async () => {
    const error = await refusal(resolveLocalModel(modelFile, 'isnet-anime'));
    expect(error.code).toBe('unknown_model');
    expect(error.message).toContain('"isnet-anime"');
    expect(error.message).toContain('isnet-general-use');
  });
});
