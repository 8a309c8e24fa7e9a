// The in-process library (`import { removeBackground, createEngine } from 'clearcut'`) on the
// synthetic U²-Netp: same outputs as the inference layer it fronts, the pipeline's refusal codes,
// option checks before any model loads, batches with progress, and shared engines that go away.
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { PermanentError } from '../../src/errors.js';
import { createEngine as openEngine } from '../../src/inference/engine.js';
import { removeBackground as removeWithEngine } from '../../src/inference/remove.js';
import { type ClearcutEngine, createEngine, removeBackground } from '../../src/library/index.js';
import { withSharedEngine } from '../../src/library/shared-engines.js';
import { noisyJpeg } from '../support/images.js';
import { syntheticModel, testModelDir } from '../support/models.js';
import { until } from '../support/until.js';

const synthetic = { model: 'u2netp', modelDir: testModelDir, allowSynthetic: true, threads: 1 } as const;
const limits = loadConfig({}).inference;
let photo: Buffer;
let photoPath: string;
let engine: ClearcutEngine;

beforeAll(async () => {
  await syntheticModel('u2netp'); // built once into .cache/models/synthetic, where the library finds it
  photo = await noisyJpeg(120, 90);
  photoPath = join(tmpdir(), `clearcut-library-${process.pid}.jpg`);
  await writeFile(photoPath, photo);
  engine = await createEngine(synthetic);
});

afterAll(async () => {
  await engine?.close();
});

async function expectRefusal(promise: Promise<unknown>, code: string): Promise<PermanentError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(PermanentError);
  expect((error as PermanentError).code).toBe(code);
  return error as PermanentError;
}

describe('removeBackground', () => {
  it('makes the asked renditions from the same mask the inference layer computes', async () => {
    const renditions = [{ kind: 'mask' }, { kind: 'white', square: true, minSide: 256 }] as const;
    const result = await removeBackground(photo, { ...synthetic, renditions: [...renditions] });
    const model = await syntheticModel('u2netp');
    const direct = await openEngine(model, { threads: 1 });
    try {
      const expected = await removeWithEngine(direct, photo, renditionListSchema.parse(renditions), limits);
      expect(result.outputs.map((output) => output.bytes)).toEqual(
        expected.outputs.map((output) => output.bytes),
      );
    } finally {
      await direct.close();
    }
    expect(
      result.outputs.map(({ rendition, contentType, width, height }) => [
        rendition.kind,
        contentType,
        width,
        height,
      ]),
    ).toEqual([
      ['mask', 'image/png', 120, 90],
      ['white', 'image/jpeg', 256, 256],
    ]);
  });

  it('takes bytes, an ArrayBuffer, a Blob, a path or a file: URL alike', async () => {
    const masks = await Promise.all(
      [photo, new Uint8Array(photo).buffer, new Blob([photo]), photoPath, pathToFileURL(photoPath)].map(
        async (input) =>
          (await engine.removeBackground(input, { renditions: [{ kind: 'mask' }] })).outputs[0]!.bytes,
      ),
    );
    for (const mask of masks.slice(1)) expect(mask).toEqual(masks[0]);
  });
});

describe('refusals carry the pipeline codes', () => {
  it('refuses what is not an image, a missing file and an oversized file before decoding', async () => {
    await expectRefusal(engine.removeBackground(Buffer.from('name,price\nboot,10\n')), 'unsupported_format');
    await expectRefusal(engine.removeBackground(join(tmpdir(), 'no-such-photo.jpg')), 'not_found');
    const small = await createEngine({ ...synthetic, limits: { maxInputBytes: photo.length - 1 } });
    try {
      await expectRefusal(small.removeBackground(photoPath), 'too_large');
    } finally {
      await small.close();
    }
    await expectRefusal(engine.removeBackground(42 as never), 'invalid_options');
  });

  it('checks options before loading any model', async () => {
    // No model could load from here: a refusal other than invalid_options would mean one was tried.
    const nowhere = { modelDir: join(tmpdir(), 'clearcut-no-models'), model: 'u2netp' };
    const badRendition = await expectRefusal(
      removeBackground(photo, { ...nowhere, renditions: [{ kind: 'mask', format: 'jpeg' as 'png' }] }),
      'invalid_options',
    );
    expect(badRendition.message).toContain('renditions[0].format');
    const unknown = await expectRefusal(removeBackground(photo, { model: 'u3net' }), 'unknown_model');
    expect(unknown.message).toContain('u2netp');
    const s3Background = await expectRefusal(
      removeBackground(photo, {
        ...nowhere,
        renditions: [{ kind: 'background', background: 's3://art/wall.jpg' }],
      }),
      'invalid_options',
    );
    expect(s3Background.message).toContain('renditions[0].background');
    await expectRefusal(createEngine({ ...nowhere, threads: 0 }), 'invalid_options');
    await expectRefusal(createEngine({ ...nowhere, colour: 'red' } as never), 'invalid_options');
  });

  it('refuses to run a synthetic stand-in unless allowed, naming the pull that fixes it', async () => {
    const error = await expectRefusal(createEngine({ ...synthetic, allowSynthetic: false }), 'model_missing');
    expect(error.message).toContain('clearcut models pull u2netp');
  });
});

describe('batches', () => {
  it('report progress per image and keep going past a failed one, results in input order', async () => {
    const progress: [number, number, string | undefined][] = [];
    const inputs = [photo, Buffer.alloc(0), photoPath];
    const items = await engine.removeBackgrounds(inputs, {
      renditions: [{ kind: 'cutout', format: 'webp' }],
      onProgress: ({ done, total, error }) => progress.push([done, total, (error as PermanentError)?.code]),
    });
    expect(items.map((item) => item.input)).toEqual(inputs);
    expect(
      items.map((item) => item.result?.outputs[0]?.contentType ?? (item.error as PermanentError).code),
    ).toEqual(['image/webp', 'empty_file', 'image/webp']);
    expect(progress.map(([done, total]) => [done, total])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(progress.filter(([, , code]) => code === 'empty_file')).toHaveLength(1);
  });
});

describe('the engines behind removeBackground', () => {
  it('are shared by calls with the same options and closed once idle', async () => {
    const first = await withSharedEngine(synthetic, async (shared) => shared);
    const second = await withSharedEngine({ ...synthetic }, async (shared) => shared);
    expect(second).toBe(first);
    const other = await withSharedEngine({ ...synthetic, threads: 2 }, async (shared) => shared);
    expect(other).not.toBe(first);
    await until(
      () =>
        first.removeBackground(photo).then(
          () => false,
          () => true,
        ),
      { what: 'the idle shared engine to be closed', timeoutMs: 20_000, intervalMs: 200 },
    );
    const size = await sharp((await removeBackground(photo, synthetic)).outputs[0]!.bytes).metadata();
    expect([size.width, size.height]).toEqual([120, 90]);
  });
});
