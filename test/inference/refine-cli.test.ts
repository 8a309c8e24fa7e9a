// `clearcut remove --refine edges --decontaminate`: the flags reach the renditions (the refined
// cutout's alpha differs from the mask only in the band), and wrong uses are refused with status 2.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeBand } from '../../src/inference/refine/band.js';
import { runCli } from '../support/cli.js';
import { noisyJpeg, pixelsOf } from '../support/images.js';
import { testModelDir } from '../support/models.js';

let root: string;
const env = { CLEARCUT_MODEL_DIR: testModelDir, CLEARCUT_LOG_LEVEL: 'silent' };
const clearcut = (...args: string[]) => runCli(env, 'remove', ...args, '--allow-synthetic');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'clearcut-refine-'));
  await writeFile(join(root, 'photo.jpg'), await noisyJpeg(96, 64));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('clearcut remove --refine', () => {
  it('refines the cutout, not the mask beside it, and only in the band', async () => {
    const out = join(root, 'out');
    const run = await clearcut(
      join(root, 'photo.jpg'),
      '--out',
      out,
      '--rendition',
      'mask,cutout',
      '--refine',
      'edges',
      '--decontaminate',
    );
    expect(run.status).toBe(0);
    // Both renditions are refined: the mask rendition shows the refined alpha the cutout carries.
    const mask = (await pixelsOf(await readFile(join(out, 'photo.mask.png')), 1)).data;
    const cutout = await pixelsOf(await readFile(join(out, 'photo.cutout.png')));
    for (let i = 0; i < mask.length; i++) expect(cutout.data[i * 4 + 3]).toBe(mask[i]);
    const plainOut = join(root, 'plain');
    expect((await clearcut(join(root, 'photo.jpg'), '--out', plainOut, '--rendition', 'mask')).status).toBe(
      0,
    );
    const plain = (await pixelsOf(await readFile(join(plainOut, 'photo.mask.png')), 1)).data;
    const band = edgeBand(plain, 96, 64, 0);
    for (let i = 0; i < plain.length; i++) if (!band[i]) expect(mask[i]).toBe(plain[i]);
    // Two whole CLI runs, each loading the model: at a load of 15 on two cores that took over 60 s.
  }, 180_000);

  it.each([
    [['--refine', 'hair'], '--refine takes "edges", not "hair"'],
    [['--rendition', 'mask', '--decontaminate'], '--decontaminate applies to renditions with colours'],
  ])('refuses %j with status 2', async (args, message) => {
    const run = await clearcut(join(root, 'photo.jpg'), '--out', join(root, 'never'), ...args);
    expect(run.status).toBe(2);
    expect(run.err).toContain(message);
  });
});
