import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/models.js';
import type { CliIo } from '../../src/cli/io.js';
import { PermanentError, TransientError, UsageError } from '../../src/errors.js';
import { rememberDigest } from '../../src/models/model-digest.js';
import { findModel } from '../../src/models/registry.js';
import { syntheticModel } from '../support/models.js';

const execFileAsync = promisify(execFile);
const binary = new URL('../../bin/clearcut.js', import.meta.url).pathname;

function captureIo(env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { env, out: (text) => out.push(text), err: (text) => err.push(text), interactive: false };
  return { io, out, err };
}

async function usageError(args: string[], env: Record<string, string> = {}): Promise<string> {
  const error = await run(args, captureIo(env).io).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof UsageError))
    throw new Error(`expected a UsageError for ${args.join(' ')}, got ${String(error)}`);
  return error.message;
}

describe('clearcut models: argument errors', () => {
  it('prints usage and exits 2 without a subcommand, 0 with --help', async () => {
    const bare = captureIo({});
    expect(await run([], bare.io)).toBe(2);
    expect(bare.out.join()).toContain(
      'Usage: clearcut models <list | pull NAME | import FILE | synth u2net|u2netp | quantize NAME|FILE>',
    );
    const help = captureIo({});
    expect(await run(['pull', '--help'], help.io)).toBe(0);
    expect(help.out.join()).toContain('Models: u2net, u2netp, u2net_human_seg, silueta, isnet-general-use');
  });

  it('names what is wrong in each bad command line', async () => {
    expect(await usageError(['fetch'])).toMatch(
      /^clearcut models: unknown subcommand "fetch" \(expected list, pull, import, synth or quantize\)/,
    );
    expect(await usageError(['pull'])).toMatch(/^clearcut models pull: expects a model name/);
    expect(await usageError(['pull', 'u2net', 'silueta'])).toBe(
      'clearcut models pull: expects only a model name, got also "silueta"',
    );
    expect(await usageError(['pull', 'u3net'])).toBe(
      'clearcut models pull: unknown model "u3net" (expected one of u2net, u2netp, u2net_human_seg, silueta, isnet-general-use)',
    );
    expect(await usageError(['pull', 'u2net', '--fast'])).toMatch(
      /^clearcut models pull: Unknown option '--fast'/,
    );
    expect(await usageError(['synth'])).toMatch(
      /^clearcut models synth: expects a topology \(u2net or u2netp\)/,
    );
    expect(await usageError(['synth', 'silueta'])).toBe(
      'clearcut models synth: unknown topology "silueta" (expected u2net or u2netp)',
    );
    for (const seed of ['abc', '-1', '1.5', '4294967296', '']) {
      expect(await usageError(['synth', 'u2netp', `--seed=${seed}`])).toBe(
        `clearcut models synth: --seed "${seed}" is not a whole number from 0 to 4294967295`,
      );
    }
    expect(await usageError(['synth', 'u2netp', '--out', tmpdir()])).toBe(
      `clearcut models synth: --out ${tmpdir()} is a directory; give a file path`,
    );
    expect(await usageError(['list', 'u2net'])).toBe('clearcut models list: unexpected argument "u2net"');
  });
});

describe('clearcut models list, synth and pull', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clearcut-models-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists each model as missing, verified or mismatched, and the synthetic stand-ins', async () => {
    const spec = findModel('u2netp');
    await writeFile(join(dir, 'silueta.onnx'), 'not silueta');
    await mkdir(join(dir, 'synthetic'));
    await writeFile(
      join(dir, 'synthetic', 'u2netp-seed1.onnx'),
      await readFile((await syntheticModel('u2netp')).path),
    );
    const { io, out } = captureIo({ CLEARCUT_MODEL_DIR: dir });
    expect(await run(['list'], io)).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/^u2netp +320 +missing +- +synthetic u2netp$/m);
    expect(text).toMatch(/^silueta +320 +CHECKSUM MISMATCH +11 B +none: pull it$/m);
    expect(text).toMatch(/^isnet-general-use +1024 +missing/m);
    expect(text).toContain('u2netp-seed1.onnx  4.3 MiB');
    expect(text).toContain('`clearcut models pull NAME --force` replaces it');

    const json = captureIo({ CLEARCUT_MODEL_DIR: dir });
    expect(await run(['list', '--json'], json.io)).toBe(0);
    const listed = JSON.parse(json.out.join('\n'));
    expect(listed.models.find((model: { name: string }) => model.name === 'silueta')).toMatchObject({
      present: true,
      verified: false,
      size: 11,
    });
    expect(listed.models.find((model: { name: string }) => model.name === spec.name)).toMatchObject({
      present: false,
      synthetic: 'u2netp',
    });
    expect(listed.synthetic.map((entry: { file: string }) => entry.file)).toEqual(['u2netp-seed1.onnx']);
  });

  it('synthesises to --out with the chosen seed', async () => {
    const out = join(dir, 'nested', 'model.onnx');
    const { io, out: lines } = captureIo({});
    expect(await run(['synth', 'u2netp', '--seed', '7', '--out', out], io)).toBe(0);
    const sha256 = createHash('sha256')
      .update(await readFile(out))
      .digest('hex');
    expect(lines.join('\n')).toContain(`${out}  4.3 MiB  sha256 ${sha256}`);
    expect(sha256).not.toBe((await syntheticModel('u2netp')).sha256);
  });

  it('pull from a mirror: a wrong file is refused and nothing is left behind; a dead mirror says what to do', async () => {
    const server = createServer((_request, response) => response.end('a file that is not u2netp'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const env = { CLEARCUT_MODEL_DIR: dir, CLEARCUT_MODEL_BASE_URL: base };
    try {
      const mismatch = await run(['pull', 'u2netp'], captureIo(env).io).catch((error: unknown) => error);
      expect(mismatch).toBeInstanceOf(PermanentError);
      expect((mismatch as PermanentError).message).toContain(
        `The file from ${base}u2netp.onnx (25 bytes) has sha256`,
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      server.close();
      await once(server, 'close');
    }
    const offline = await run(['pull', 'u2netp'], captureIo(env).io).catch((error: unknown) => error);
    expect(offline).toBeInstanceOf(TransientError);
    expect((offline as TransientError).message).toContain(`and copy it to ${join(dir, 'u2netp.onnx')}`);
  });

  it('pull reports a verified copy as present without downloading it', async () => {
    const spec = findModel('u2netp');
    const path = join(dir, spec.file);
    await writeFile(path, 'bytes recorded as verified');
    await rememberDigest(path, spec.sha256); // what a completed pull records
    const { size } = await stat(path);
    // A mirror that would fail: pull must not contact it.
    const { io, out } = captureIo({
      CLEARCUT_MODEL_DIR: dir,
      CLEARCUT_MODEL_BASE_URL: 'http://127.0.0.1:9/',
    });
    expect(await run(['pull', 'u2netp'], io)).toBe(0);
    expect(out.join('\n')).toBe(
      `u2netp: already present and verified (--force downloads it again)\n  ${path}  ${size} B  sha256 ${spec.sha256}`,
    );
  });

  it('two processes synthesising the same file at once leave one whole model (real CLI, exit codes)', async () => {
    const env = { ...process.env, CLEARCUT_MODEL_DIR: dir };
    const synth = () => execFileAsync(process.execPath, [binary, 'models', 'synth', 'u2netp'], { env });
    const [first, second] = await Promise.all([synth(), synth()]);
    expect(first.stdout).toContain('u2netp (seed 1) written');
    expect(second.stdout).toContain('u2netp (seed 1) written');
    const path = join(dir, 'synthetic', 'u2netp-seed1.onnx');
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    expect(sha256).toBe((await syntheticModel('u2netp')).sha256);
    expect(await readdir(join(dir, 'synthetic'))).toEqual(['.u2netp-seed1.onnx.sha256', 'u2netp-seed1.onnx']);

    const bad = await execFileAsync(process.execPath, [binary, 'models', 'synth', 'u2netp', '--seed', 'x'], {
      env,
    }).catch((error: { code: number; stderr: string }) => error);
    expect('code' in bad && bad.code).toBe(2);
    expect('stderr' in bad && bad.stderr).toContain('--seed "x" is not a whole number');
  }, 60_000);
});
