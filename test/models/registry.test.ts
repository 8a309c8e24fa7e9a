import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { PermanentError } from '../../src/errors.js';
import { fileDigest, hashFile, rememberDigest } from '../../src/models/model-digest.js';
import { buildSyntheticFile } from '../../src/models/model-synthetic.js';
import {
  findModel,
  listModels,
  type ModelsConfig,
  modelUrl,
  resolveModel,
} from '../../src/models/registry.js';
import { syntheticModel } from '../support/models.js';

const rembgRelease = 'https://github.com/danielgatis/rembg/releases/download/v0.0.0/';

async function rejection(promise: Promise<unknown>): Promise<PermanentError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof PermanentError)) throw new Error(`expected a PermanentError, got ${String(error)}`);
  return error;
}

describe('registry data', () => {
  it('lists the rembg family with pinned hashes, sources and rembg pre-processing', () => {
    const models = listModels();
    expect(models.map((spec) => spec.name)).toEqual([
      'u2net',
      'u2netp',
      'u2net_human_seg',
      'silueta',
      'isnet-general-use',
    ]);
    for (const spec of models) {
      expect(spec.file).toBe(`${spec.name}.onnx`);
      expect(spec.url).toBe(`${rembgRelease}${spec.file}`);
      expect(spec.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(spec.md5).toMatch(/^[0-9a-f]{32}$/);
      expect(spec.outputIndex).toBe(0);
      expect(spec.inputSize).toBe(spec.name === 'isnet-general-use' ? 1024 : 320);
    }
    expect(new Set(models.map((spec) => spec.sha256)).size).toBe(models.length);
    expect(findModel('u2net')).toMatchObject({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    // rembg's DisSession: normalize(img, (0.485, 0.456, 0.406), (1.0, 1.0, 1.0), (1024, 1024)).
    expect(findModel('isnet-general-use')).toMatchObject({ mean: [0.485, 0.456, 0.406], std: [1, 1, 1] });
    expect(models.map((spec) => spec.synthetic ?? null)).toEqual(['u2net', 'u2netp', 'u2net', null, null]);
  });

  it('takes model files from a mirror when CLEARCUT_MODEL_BASE_URL is set', () => {
    const mirrored = loadConfig({ CLEARCUT_MODEL_BASE_URL: 'http://127.0.0.1:8080/models/' }).models;
    expect(modelUrl(mirrored, findModel('silueta'))).toBe('http://127.0.0.1:8080/models/silueta.onnx');
    expect(modelUrl(loadConfig({}).models, findModel('silueta'))).toBe(`${rembgRelease}silueta.onnx`);
    expect(() => loadConfig({ CLEARCUT_MODEL_BASE_URL: 'ftp://mirror/models/' })).toThrow(
      /CLEARCUT_MODEL_BASE_URL/,
    );
    expect(() => loadConfig({ CLEARCUT_MODEL_BASE_URL: 'http://mirror/models' })).toThrow(/ending in \//);
  });
});

describe('resolveModel', () => {
  let dir: string;
  let config: ModelsConfig;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clearcut-registry-'));
    config = loadConfig({ CLEARCUT_MODEL_DIR: dir }).models;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown name, listing the valid ones', async () => {
    const error = await rejection(resolveModel(config, 'u3net'));
    expect(error.code).toBe('unknown_model');
    expect(error.message).toBe(
      'Unknown model "u3net". Known models: u2net, u2netp, u2net_human_seg, silueta, isnet-general-use.',
    );
  });

  it('says to pull a missing model that has no synthetic stand-in', async () => {
    const error = await rejection(resolveModel(config, 'silueta'));
    expect(error.code).toBe('model_missing');
    expect(error.message).toContain('clearcut models pull silueta');
    expect(error.message).toContain(`${rembgRelease}silueta.onnx`);
  });

  it('builds the synthetic stand-in once under <model dir>/synthetic and reuses it', async () => {
    const first = await resolveModel(config, 'u2netp');
    expect(first).toMatchObject({ source: 'synthetic', path: join(dir, 'synthetic', 'u2netp-seed1.onnx') });
    expect(first.spec.name).toBe('u2netp');
    expect(first.sha256).toBe(await hashFile(first.path));
    expect(first.sha256).toBe((await syntheticModel('u2netp')).sha256);
    const builtAt = (await stat(first.path)).mtimeMs;
    const second = await resolveModel(config, 'u2netp');
    expect(second).toEqual(first);
    expect((await stat(first.path)).mtimeMs).toBe(builtAt);
  });

  it('gives concurrent callers one whole file and leaves no temp files behind', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => resolveModel(config, 'u2netp')));
    expect(new Set(results.map((result) => `${result.path} ${result.sha256}`)).size).toBe(1);
    // Writers that do not share a build (as in separate processes) race on temp files and renames.
    const path = results[0]!.path;
    const rebuilt = await Promise.all([1, 2, 3].map(() => buildSyntheticFile('u2netp', 1, path)));
    expect(rebuilt.map((digest) => digest.sha256)).toEqual(Array(3).fill(results[0]!.sha256));
    expect(await hashFile(path)).toBe(results[0]!.sha256);
    expect(await readdir(join(dir, 'synthetic'))).toEqual(['.u2netp-seed1.onnx.sha256', 'u2netp-seed1.onnx']);
  });

  it('uses present weights whose digest is verified, trusting the digest only while size and mtime hold', async () => {
    const spec = findModel('silueta');
    const path = join(dir, spec.file);
    await writeFile(path, 'stand-in bytes for a verified download');
    // What a completed `models pull` leaves: the file plus a sidecar recording its verified digest.
    await rememberDigest(path, spec.sha256);
    expect(await resolveModel(config, 'silueta')).toEqual({
      spec,
      path,
      sha256: spec.sha256,
      source: 'weights',
    });

    // The file changes afterwards: the sidecar no longer applies, the file is hashed and refused.
    await utimes(path, new Date(), new Date(Date.now() + 5_000));
    const error = await rejection(resolveModel(config, 'silueta'));
    expect(error.code).toBe('model_checksum_mismatch');
    expect(error.message).toContain('clearcut models pull silueta --force');
    expect((await fileDigest(path))?.sha256).toBe(await hashFile(path));
  });

  it('refuses a present file that is not the published model instead of falling back to synthetic', async () => {
    await writeFile(join(dir, 'u2netp.onnx'), 'not a model');
    const error = await rejection(resolveModel(config, 'u2netp'));
    expect(error.code).toBe('model_checksum_mismatch');
    expect(error.message).toContain(findModel('u2netp').sha256);
  });
});
