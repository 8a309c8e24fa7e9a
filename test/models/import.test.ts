import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/models.js';
import type { CliIo } from '../../src/cli/io.js';
import { loadConfig } from '../../src/config.js';
import { fileDigest } from '../../src/models/model-digest.js';
import { importModel } from '../../src/models/model-import.js';
import { findModel, resolveModel } from '../../src/models/registry.js';
import { syntheticMarker } from '../../src/models/synthetic-marker.js';
import { decodeModel, encodeModel } from '../../src/quantize/onnx-model.js';
import { syntheticModel } from '../support/models.js';

let dir: string;
let sourceDir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearcut-import-'));
  sourceDir = await mkdtemp(join(tmpdir(), 'clearcut-import-source-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(sourceDir, { recursive: true, force: true });
});

async function models(...args: string[]) {
  const out: string[] = [];
  const io: CliIo = {
    env: { CLEARCUT_MODEL_DIR: dir },
    out: (text) => out.push(text),
    err: () => {},
    interactive: false,
  };
  const outcome = await run(args, io).then(
    (status) => ({ status, error: undefined }),
    (error: unknown) => ({ status: undefined, error: error as Error & { code?: string } }),
  );
  return { ...outcome, out: out.join('\n') };
}

/** A file of the u2netp family that is not the published one and not marked synthetic: what a
 * fine-tuned or converted export looks like to the importer. */
async function convertedU2netp(): Promise<{ path: string; sha256: string }> {
  const model = decodeModel(await readFile((await syntheticModel('u2netp')).path));
  model.metadataProps = (model.metadataProps ?? []).filter((entry) => entry.key !== syntheticMarker);
  model.producerName = 'a-converter';
  const path = join(sourceDir, 'u2netp-converted.onnx');
  await writeFile(path, encodeModel(model));
  return { path, sha256: (await fileDigest(path))!.sha256 };
}

const installed = async () =>
  (await readdir(dir).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));

describe('clearcut models import', () => {
  it('refuses a file that is not the published model unless --custom says so, writing nothing', async () => {
    const file = (await syntheticModel('u2netp')).path;
    const unnamed = await models('import', file);
    expect(unnamed.error).toMatchObject({ code: 'model_checksum_mismatch' });
    expect(unnamed.error?.message).toMatch(
      /u2netp-seed1\.onnx \(sha256 [0-9a-f]{64}\) is none of the published models\. For a fine-tuned or converted file, say which family it belongs to: --as NAME --custom\.$/,
    );
    const named = await models('import', file, '--as', 'u2netp');
    expect(named.error?.message).toMatch(
      /is not the published u2netp model \(sha256 [0-9a-f]{64}, expected 309c8469.*\)\. To install another file of the u2netp family on purpose, add --custom\.$/,
    );
    expect((await models('import', file, '--custom')).error?.message).toMatch(/--custom needs --as NAME/);
    expect((await models('import', file, '--as', 'u3net')).error?.message).toMatch(
      /--as: Unknown model "u3net"/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('installs a custom file of a family after checking its graph, and resolveModel then uses exactly it', async () => {
    const converted = await convertedU2netp();
    const imported = await models('import', converted.path, '--as', 'u2netp', '--custom');
    expect(imported.status).toBe(0);
    expect(imported.out).toMatch(/^u2netp: imported \(custom file, checked against the family, UNVERIFIED\)/);
    expect(await installed()).toEqual(['u2netp.onnx']);
    const config = loadConfig({ CLEARCUT_MODEL_DIR: dir }).models;
    expect(await resolveModel(config, 'u2netp', { allowSynthetic: false })).toMatchObject({
      path: join(dir, 'u2netp.onnx'),
      sha256: converted.sha256,
      source: 'weights',
    });
    const listed = JSON.parse((await models('list', '--json')).out) as {
      models: { name: string; custom: boolean }[];
    };
    expect(listed.models.find((model) => model.name === 'u2netp')).toMatchObject({
      custom: true,
      verified: false,
    });
  });

  it('refuses the synthetic stand-in as a custom file, so its meaningless masks are never served as real', async () => {
    const synthetic = await syntheticModel('u2netp');
    const refused = await models('import', synthetic.path, '--as', 'u2netp', '--custom');
    expect(refused.error).toMatchObject({ code: 'model_invalid' });
    expect(refused.error?.message).toMatch(
      /u2netp-seed1\.onnx is a ClearCut synthetic stand-in \(seeded random weights, meaningless masks\), not a model: it cannot be installed as u2netp\./,
    );
    expect(await installed()).toEqual([]);
  });

  it('refuses a custom file whose graph does not fit the family', async () => {
    const file = (await convertedU2netp()).path;
    const wrong = await models('import', file, '--as', 'isnet-general-use', '--custom');
    expect(wrong.error).toMatchObject({ code: 'model_invalid' });
    expect(wrong.error?.message).toMatch(/input is \[.*320×320\], expected \[N×3×1024×1024\]/);
    expect(await installed()).toEqual([]);
  });

  it('refuses a custom file that is no ONNX model without advising to fetch it again', async () => {
    const notes = join(sourceDir, 'notes.onnx');
    await writeFile(notes, 'hello');
    const refused = await models('import', notes, '--as', 'u2netp', '--custom');
    expect(refused.error).toMatchObject({ code: 'model_invalid' });
    expect(refused.error?.message).toMatch(/is not an ONNX model: its bytes do not decode as one/);
    expect(refused.error?.message).not.toContain('models pull');
    expect(await installed()).toEqual([]);
  });

  it('recognises a published file by its sha256 and installs it verified', async () => {
    const synthetic = await syntheticModel('u2netp');
    // A registry whose u2netp is pinned to a file we can produce here.
    const published = [{ ...findModel('u2netp'), sha256: synthetic.sha256 }];
    const config = loadConfig({ CLEARCUT_MODEL_DIR: dir }).models;
    const checkFamily = async () => {
      throw new Error('a published file needs no graph check');
    };
    const imported = await importModel(config, { file: synthetic.path, checkFamily }, published);
    expect(imported).toMatchObject({
      path: join(dir, 'u2netp.onnx'),
      sha256: synthetic.sha256,
      verified: true,
    });
    expect(await readdir(dir)).not.toContain('.u2netp.onnx.custom.json');
  });
});
