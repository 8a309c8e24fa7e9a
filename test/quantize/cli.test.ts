// `clearcut models quantize`: argument errors say what is wrong before anything heavy runs, and a
// FILE is quantized beside itself (or to --out) with a summary of what was done.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantize } from '../../src/cli/commands/models-quantize.js';
import type { CliIo } from '../../src/cli/io.js';
import { UsageError } from '../../src/errors.js';
import { hashFile } from '../../src/models/model-digest.js';
import { readManifest } from '../../src/models/model-quantized.js';
import { syntheticModel } from '../support/models.js';

let dir: string;
let fp32: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearcut-quantize-cli-'));
  fp32 = join(dir, 'u2netp.onnx');
  await copyFile((await syntheticModel('u2netp')).path, fp32);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env: { CLEARCUT_MODEL_DIR: join(dir, 'models'), CLEARCUT_INFERENCE_THREADS: '1' },
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    interactive: false,
  };
  return { io, out, err };
}

async function usageError(args: string[]): Promise<string> {
  const error = await quantize(args, captureIo().io).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof UsageError))
    throw new Error(`expected a UsageError for ${args.join(' ')}, got ${String(error)}`);
  return error.message;
}

describe('clearcut models quantize: argument errors', () => {
  it('prints its options with --help', async () => {
    const { io, out } = captureIo();
    expect(await quantize(['--help'], io)).toBe(0);
    expect(out.join()).toContain('Usage: clearcut models quantize NAME|FILE [options]');
    expect(out.join()).toContain('--keep-float LIST');
  });

  it('names what is wrong in each bad command line', async () => {
    expect(await usageError([])).toBe('clearcut models quantize: name a model or an .onnx file');
    expect(await usageError(['u2netp', 'u2net'])).toBe('clearcut models quantize: expects one model, got 2');
    expect(await usageError(['u3net'])).toBe(
      'clearcut models quantize: "u3net" is neither a registry model (u2net, u2netp, u2net_human_seg, silueta, isnet-general-use, or NAME-int8) nor an .onnx file',
    );
    expect(await usageError([fp32, '--method', 'median'])).toBe(
      'clearcut models quantize: --method "median" is not one of minmax, percentile, entropy',
    );
    expect(await usageError([fp32, '--method', 'entropy', '--percentile', '99.9'])).toBe(
      'clearcut models quantize: --percentile applies to --method percentile, not entropy',
    );
    expect(await usageError([fp32, '--percentile', '100'])).toMatch(
      /--percentile "100" is not a number from 90/,
    );
    expect(await usageError([fp32, '--percentile', 'high'])).toMatch(/--percentile "high" is not a number/);
    expect(await usageError([fp32, '--keep-float', 'first,,sides'])).toBe(
      'clearcut models quantize: --keep-float has an empty entry; separate names with single commas',
    );
    expect(await usageError([fp32, '--images', '0'])).toBe(
      'clearcut models quantize: --images "0" is not a whole number from 1 to 256',
    );
    expect(await usageError([fp32, '--threads', 'many'])).toBe(
      'clearcut models quantize: --threads "many" is not a whole number from 1 to 256',
    );
    expect(await usageError([fp32, '--calibration', dir, '--images', '4'])).toBe(
      'clearcut models quantize: --images counts generated images; it cannot go with --calibration DIR',
    );
    expect(await usageError([fp32, '--out', dir])).toBe(
      `clearcut models quantize: --out ${dir} is a folder; give a file path`,
    );
    expect(await usageError([fp32, '--out', fp32])).toBe(
      `clearcut models quantize: --out ${fp32} is the fp32 model itself; give another file`,
    );
    expect(await usageError([fp32, '--like', 'isnet-general-use'])).toBe(
      `clearcut models quantize: ${fp32} takes 320×320 inputs but --like isnet-general-use pre-processes to 1024×1024`,
    );
    expect(await usageError(['u2netp', '--like', 'u2net'])).toBe(
      'clearcut models quantize: --like applies to a FILE; a registry model has its own pre-processing',
    );
    expect(await usageError([fp32, '--fast'])).toMatch(/^clearcut models quantize: Unknown option '--fast'/);
  });

  it('refuses a calibration folder that is missing or holds no images', async () => {
    expect(await usageError([fp32, '--calibration', join(dir, 'nowhere')])).toBe(
      `clearcut models quantize: --calibration ${join(dir, 'nowhere')} is not a folder`,
    );
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await writeFile(join(empty, 'notes.txt'), 'no photos here');
    await expect(quantize([fp32, '--calibration', empty], captureIo().io)).rejects.toMatchObject({
      code: 'calibration_images_missing',
      message: expect.stringContaining('no JPEG, PNG or WebP images in that folder'),
    });
  });

  it('names a file that is not an ONNX model, not the protobuf decoder', async () => {
    const notes = join(dir, 'notes.onnx');
    await writeFile(notes, 'hello');
    await expect(quantize([notes], captureIo().io)).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(
        /^.*notes\.onnx is not an ONNX model: its bytes do not decode as one \(/,
      ),
    });
  });

  it('turns an unknown --keep-float name into a usage error naming real nodes', async () => {
    expect(await usageError([fp32, '--images', '1', '--keep-float', 'stage9.*'])).toMatch(
      /--keep-float stage9\.\*: no node of the graph has that name.*stage1\.rebnconvin/,
    );
  });
});

describe('clearcut models quantize FILE', () => {
  it('writes FILE-int8.onnx beside it, with its manifest, and says what it did', async () => {
    const { io, out, err } = captureIo();
    expect(await quantize([fp32, '--images', '1', '--method', 'minmax', '--keep-float', 'sides'], io)).toBe(
      0,
    );
    const written = join(dir, 'u2netp-int8.onnx');
    const sha256 = await hashFile(written);
    const summary = out.join('\n');
    expect(summary).toContain(`u2netp-int8.onnx: written in`);
    expect(summary).toContain(`${written}  `);
    expect(summary).toContain(`sha256 ${sha256}`);
    expect(summary).toContain(`from u2netp.onnx (${fp32}, sha256 ${await hashFile(fp32)})`);
    expect(summary).toContain(
      'method minmax; kept in float: sides (11 nodes); calibrated on 1 generated catalog-like images',
    );
    expect(summary).toContain(
      'ONNX Runtime runs: 113 QLinearConv, 51 QLinearConcat, 11 QLinearAdd, 6 float Conv',
    );
    expect(err.join('\n')).toContain('calibrating on 1 generated catalog-like images (seed 1)');
    expect(await readManifest(written)).toMatchObject({
      sha256,
      recipe: { method: 'minmax', keepFloat: ['sides'] },
    });
  });
});
