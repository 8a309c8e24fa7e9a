// `clearcut remove --model u2netp-int8` runs the int8 variant through the same resolveModel path the
// workers use, and `clearcut models quantize u2netp` is the way to build it ahead of time.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/models/model-quantized.js';
import { runCli } from '../support/cli.js';
import { encode, rectangleScene } from '../support/images.js';

let root: string;
let env: Record<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clearcut-int8-remove-'));
  env = {
    CLEARCUT_MODEL_DIR: join(root, 'models'),
    CLEARCUT_INFERENCE_THREADS: '1',
    CLEARCUT_LOG_LEVEL: 'silent',
  };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the int8 variant from the command line', () => {
  it('is built by `models quantize NAME`, then up to date', async () => {
    const built = await runCli(env, 'models', 'quantize', 'u2netp', '--images', '2');
    expect(built.status).toBe(0);
    expect(built.out).toContain('u2netp-int8: written in');
    expect(built.err).toContain('quantizing its SYNTHETIC stand-in');
    const path = join(root, 'models', 'synthetic', 'u2netp-seed1-int8.onnx');
    expect((await readManifest(path))?.base.name).toBe('u2netp');

    const again = await runCli(env, 'models', 'quantize', 'u2netp-int8');
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/^u2netp-int8: up to date \(--force builds it again\)/);
  }, 240_000);

  it('cuts out an image with --model u2netp-int8', async () => {
    const path = join(root, 'models', 'synthetic', 'u2netp-seed1-int8.onnx');
    const builtAt = (await stat(path)).mtimeMs;
    const scene = rectangleScene({
      width: 64,
      height: 48,
      subject: { left: 8, top: 8, width: 32, height: 24 },
    });
    const input = join(root, 'in');
    await mkdir(input);
    await writeFile(join(input, 'item.png'), await encode(scene.rgb, 64, 48, 3, 'png'));
    const out = join(root, 'out');
    const run = await runCli(
      env,
      'remove',
      input,
      '--out',
      out,
      '--model',
      'u2netp-int8',
      '--rendition',
      'mask',
      '--allow-synthetic',
    );
    expect(run.status).toBe(0);
    // No u2netp weights here: the notice names what to pull (the base), not the variant.
    expect(run.err).toContain('SYNTHETIC u2netp model, quantized to int8');
    expect(run.err).toContain('For real cutouts run `clearcut models pull u2netp`;');
    expect(run.err).toContain('`clearcut models quantize u2netp`');
    expect(run.err).not.toContain('models pull u2netp-int8');
    expect(run.out).toMatch(/^1 of 1 image done \(1 file written/);
    expect(await readdir(out)).toEqual(['item.mask.png']);
    const mask = await sharp(join(out, 'item.mask.png')).metadata();
    expect([mask.width, mask.height, mask.channels]).toEqual([64, 48, 1]);
    // The variant already built was used as is.
    expect((await stat(path)).mtimeMs).toBe(builtAt);
  }, 240_000);
});
