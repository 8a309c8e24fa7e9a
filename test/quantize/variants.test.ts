// The registry's int8 variants: resolveModel builds `u2netp-int8` from the fp32 file it resolves to
// (here the synthetic stand-in), records a manifest, reuses the file while it is current, and
// rebuilds it when the fp32 source changes or the int8 file is no longer the one written.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticModel } from '../../models/synth/index.js';
import { quantize } from '../../src/cli/commands/models-quantize.js';
import { loadConfig } from '../../src/config.js';
import { catalogNames } from '../../src/models/catalog.js';
import { hashFile } from '../../src/models/model-digest.js';
import { manifestPath, readManifest } from '../../src/models/model-quantized.js';
import { findVariant } from '../../src/models/model-variants.js';
import { type ModelsConfig, resolveModel } from '../../src/models/registry.js';
import { decodeModel } from '../../src/quantize/onnx-model.js';
import { metadataOf } from './support.js';

let dir: string;
let config: ModelsConfig;
// Two calibration images keep a build short; the recipe is otherwise the variant's own.
const options = { threads: 1, calibrationImages: 2 };
// A build calibrates with ONNX Runtime: tens of seconds on a busy two-core machine.
const buildTimeout = 240_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearcut-variants-'));
  config = loadConfig({ CLEARCUT_MODEL_DIR: dir }).models;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('int8 variants', () => {
  it('are selectable names next to the published models', () => {
    expect(catalogNames).toEqual([
      'u2net',
      'u2netp',
      'u2net_human_seg',
      'silueta',
      'isnet-general-use',
      'u2net-int8',
      'u2netp-int8',
      'u2net_human_seg-int8',
      'silueta-int8',
      'isnet-general-use-int8',
    ]);
    expect(findVariant('isnet-general-use-int8')).toMatchObject({
      base: 'isnet-general-use',
      file: 'isnet-general-use-int8.onnx',
      inputSize: 1024,
      std: [1, 1, 1],
    });
  });

  it(
    'are built beside the fp32 file when first resolved, with a manifest, then reused',
    async () => {
      const model = await resolveModel(config, 'u2netp-int8', options);
      const base = await resolveModel(config, 'u2netp');
      expect(model).toMatchObject({
        spec: { name: 'u2netp-int8', base: 'u2netp', precision: 'int8', inputSize: 320 },
        path: join(dir, 'synthetic', 'u2netp-seed1-int8.onnx'),
        source: 'synthetic',
      });
      expect(model.sha256).toBe(await hashFile(model.path));
      const manifest = await readManifest(model.path);
      expect(manifest).toMatchObject({
        base: { name: 'u2netp', path: base.path, sha256: base.sha256 },
        recipe: { method: 'percentile', percentile: 99.99, keepFloat: ['sides', 'fusion'] },
        sha256: model.sha256,
        calibration: '2 generated catalog-like images (seed 1)',
      });
      expect(metadataOf(decodeModel(await readFile(model.path)))).toMatchObject({
        'clearcut.quantized.base': 'u2netp',
        'clearcut.quantized.base_sha256': base.sha256,
      });

      const builtAt = (await stat(model.path)).mtimeMs;
      expect(await resolveModel(config, 'u2netp-int8', options)).toEqual(model);
      expect((await stat(model.path)).mtimeMs).toBe(builtAt);
    },
    buildTimeout,
  );

  it(
    'are rebuilt when the fp32 source changes',
    async () => {
      const before = await resolveModel(config, 'u2netp-int8', options);
      const base = await resolveModel(config, 'u2netp');
      // Other weights at the same path: what a re-pulled or replaced fp32 file looks like.
      const chunks: Buffer[] = [];
      await writeSyntheticModel('u2netp', 2, (chunk) => {
        chunks.push(Buffer.from(chunk));
      });
      await writeFile(base.path, Buffer.concat(chunks));
      const newBase = await resolveModel(config, 'u2netp');
      expect(newBase.sha256).not.toBe(base.sha256);

      const after = await resolveModel(config, 'u2netp-int8', options);
      expect(after.path).toBe(before.path);
      expect(after.sha256).not.toBe(before.sha256);
      expect(after.sha256).toBe(await hashFile(after.path));
      expect((await readManifest(after.path))?.base.sha256).toBe(newBase.sha256);
    },
    buildTimeout,
  );

  it(
    'are rebuilt when the int8 file is no longer the one recorded',
    async () => {
      const before = await resolveModel(config, 'u2netp-int8', options);
      await writeFile(before.path, 'damaged');
      const after = await resolveModel(config, 'u2netp-int8', options);
      expect(after.sha256).toBe(before.sha256); // same source, same recipe, same bytes
      expect(await hashFile(after.path)).toBe(before.sha256);
    },
    buildTimeout,
  );

  it(
    'are rebuilt when built with an older default recipe, kept when built with another on purpose',
    async () => {
      const current = await resolveModel(config, 'u2netp-int8', options);
      const manifestFile = manifestPath(current.path);
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
      // What a file built before the registry's recipe changed looks like.
      await writeFile(
        manifestFile,
        JSON.stringify({ ...manifest, recipe: { ...manifest.recipe, percentile: 99.9 } }),
      );
      const rebuilt = await resolveModel(config, 'u2netp-int8', options);
      expect((await readManifest(rebuilt.path))?.recipe.percentile).toBe(99.99);

      const io = { env: { CLEARCUT_MODEL_DIR: dir }, out: () => {}, err: () => {}, interactive: false };
      expect(await quantize(['u2netp', '--method', 'minmax', '--images', '1', '--threads', '1'], io)).toBe(0);
      const custom = await readManifest(rebuilt.path);
      expect(custom).toMatchObject({ custom: true, recipe: { method: 'minmax' } });
      const kept = await resolveModel(config, 'u2netp-int8', options);
      expect(kept.sha256).toBe(custom!.sha256);
    },
    buildTimeout,
  );

  it('without base weights, say to pull the base model, not the variant', async () => {
    const error = await resolveModel(config, 'isnet-general-use-int8').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'model_missing' });
    const { message } = error as Error;
    expect(message).toContain('Run `clearcut models pull isnet-general-use`');
    expect(message).toContain(
      'isnet-general-use-int8 is then built from isnet-general-use by `clearcut models quantize isnet-general-use` (before a worker serving it starts).',
    );
    expect(message).not.toContain('models pull isnet-general-use-int8');
  });

  it('refuse an unknown name as before', async () => {
    await expect(resolveModel(config, 'u2netp-int4')).rejects.toMatchObject({ code: 'unknown_model' });
  });
});
