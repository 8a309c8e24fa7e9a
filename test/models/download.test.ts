import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ModelSpec } from '../../models/model-spec.js';
import { loadConfig } from '../../src/config.js';
import { PermanentError, TransientError } from '../../src/errors.js';
import { fileDigest } from '../../src/models/model-digest.js';
import { pullModel } from '../../src/models/model-download.js';
import { findModel, type ModelsConfig } from '../../src/models/registry.js';

const payload = Buffer.alloc(300_000, 0);
for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) % 251;
const payloadSha = createHash('sha256').update(payload).digest('hex');

/** Serves model files the way a release host does, plus the ways it can fail. */
function startModelServer() {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/good.onnx') {
      response.writeHead(200, { 'content-length': payload.length });
      response.end(payload);
    } else if (request.url === '/redirect.onnx') {
      response.writeHead(302, { location: '/good.onnx' });
      response.end();
    } else if (request.url === '/wrong.onnx') {
      response.end(Buffer.from(payload).fill(1, 1000, 2000));
    } else if (request.url === '/stall.onnx') {
      response.writeHead(200, { 'content-length': payload.length });
      response.write(payload.subarray(0, 1000)); // and never the rest
    } else {
      response.writeHead(404);
      response.end('Not Found');
    }
  });
  return { server, requests };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
}

async function failure<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof type)) throw new Error(`expected ${type.name}, got ${String(error)}`);
  return error;
}

describe('pullModel against a local HTTP server', () => {
  const { server, requests } = startModelServer();
  let base: string;
  let dir: string;
  let config: ModelsConfig;
  const spec = (file: string, sha256 = payloadSha): ModelSpec => ({
    ...findModel('silueta'),
    sha256,
    url: `${base}${file}`,
  });

  beforeAll(async () => {
    base = await listen(server);
  });
  afterAll(async () => {
    await close(server);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clearcut-pull-'));
    config = loadConfig({ CLEARCUT_MODEL_DIR: dir }).models;
    requests.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads, reports progress, verifies and keeps the verified digest', async () => {
    const progress: [number, number | undefined][] = [];
    const result = await pullModel(config, spec('good.onnx'), {
      onProgress: (...step) => progress.push(step),
    });
    expect(result).toEqual({
      path: join(dir, 'silueta.onnx'),
      size: payload.length,
      sha256: payloadSha,
      downloaded: true,
    });
    expect(await readFile(result.path)).toEqual(payload);
    expect(progress.at(-1)).toEqual([payload.length, payload.length]);
    expect(progress.map(([received]) => received)).toEqual(
      [...progress.map(([received]) => received)].sort((a, b) => a - b),
    );
    expect(await fileDigest(result.path)).toEqual({ size: payload.length, sha256: payloadSha });
    expect(await readdir(dir)).toEqual(['.silueta.onnx.sha256', 'silueta.onnx']);
  });

  it('skips a verified copy unless forced', async () => {
    await pullModel(config, spec('good.onnx'));
    expect((await pullModel(config, spec('good.onnx'))).downloaded).toBe(false);
    expect(requests).toEqual(['/good.onnx']);
    expect((await pullModel(config, spec('good.onnx'), { force: true })).downloaded).toBe(true);
    expect(requests).toEqual(['/good.onnx', '/good.onnx']);
  });

  it('follows redirects, as GitHub release downloads need', async () => {
    const result = await pullModel(config, spec('redirect.onnx'));
    expect(result.sha256).toBe(payloadSha);
    expect(requests).toEqual(['/redirect.onnx', '/good.onnx']);
  });

  it('discards a file whose checksum does not match, keeping the verified copy it would have replaced', async () => {
    const error = await failure(pullModel(config, spec('wrong.onnx')), PermanentError);
    expect(error.code).toBe('model_checksum_mismatch');
    expect(error.message).toContain(`expected ${payloadSha}; it was discarded`);
    expect(await readdir(dir)).toEqual([]);

    await pullModel(config, spec('good.onnx'));
    await failure(pullModel(config, spec('wrong.onnx'), { force: true }), PermanentError);
    expect(await readFile(join(dir, 'silueta.onnx'))).toEqual(payload);
    expect(await readdir(dir)).toEqual(['.silueta.onnx.sha256', 'silueta.onnx']);
  });

  it('reports a 404 as a missing file at the source', async () => {
    const error = await failure(pullModel(config, spec('gone.onnx')), PermanentError);
    expect(error.code).toBe('model_download_failed');
    expect(error.message).toBe(
      `GET ${base}gone.onnx answered 404 Not Found; the model file is not there. Check CLEARCUT_MODEL_BASE_URL if you use a mirror.`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('gives up on a stalled download and leaves nothing behind', async () => {
    const error = await failure(
      pullModel(config, spec('stall.onnx'), { idleTimeoutMs: 300 }),
      TransientError,
    );
    expect(error.code).toBe('model_unreachable');
    expect(error.message).toContain('no data for 300 ms');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('pullModel with the server down', () => {
  it('says it cannot reach the URL and how to copy the file in by hand', async () => {
    const { server } = startModelServer();
    const base = await listen(server);
    await close(server); // the port is now closed: connection refused
    const dir = await mkdtemp(join(tmpdir(), 'clearcut-pull-'));
    try {
      const config = loadConfig({ CLEARCUT_MODEL_DIR: dir, CLEARCUT_MODEL_BASE_URL: base }).models;
      const spec = findModel('u2netp');
      const error = await failure(pullModel(config, spec), TransientError);
      expect(error.code).toBe('model_unreachable');
      expect(error.message).toBe(
        `Cannot download ${base}u2netp.onnx (ECONNREFUSED). If this machine is offline, fetch u2netp.onnx on one ` +
          `that is online (sha256 ${spec.sha256}) and copy it to ${join(dir, 'u2netp.onnx')}; ` +
          '`clearcut models list` then verifies it.',
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
