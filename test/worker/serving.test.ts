import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { memoryNeed } from '../../src/worker/memory-need.js';
import type { Worker } from '../../src/worker/worker.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import { runCli } from '../support/cli.js';
import { smallProductPng } from '../support/images.js';
import { untilValue } from '../support/until.js';

// Which models a worker serves (CLEARCUT_MODELS): nothing else is loaded, served int8 variants must
// be built ahead, and it will not start on a synthetic stand-in unless allowed.

let p: PipelineHarness;
let input: string;
let output: string;
const scratch: string[] = [];

beforeAll(async () => {
  // The gateway admits both models; each worker below serves fewer.
  p = await createPipelineHarness('serving', { CLEARCUT_MODELS: 'u2net,u2netp' });
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
}, 120_000);
afterAll(async () => {
  await p?.dispose();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
}, 300_000);

async function emptyModelDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clearcut-serving-'));
  scratch.push(dir);
  return dir;
}

async function get(worker: Worker, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${worker.httpPort}${path}`);
  return { status: response.status, text: await response.text() };
}

function job(keys: string[], model: string) {
  return {
    version: 1,
    input: { bucket: input, keys },
    output: { bucket: output, prefix: `${model}/` },
    renditions: [{ kind: 'cutout', format: 'png' }],
    model,
  };
}

it('fails a task for a model it does not serve at once, without loading that model', async () => {
  const worker = await p.startWorker({ CLEARCUT_MODELS: 'u2netp' });
  onTestFinished(() => worker.stop());
  await p.s3.store.put(input, 'a.png', await smallProductPng(1), { contentType: 'image/png' });
  const key = await p.tenant(input, output);
  const refused = await p.submit(key, job(['a.png'], 'u2net'));
  const served = await p.submit(key, job(['a.png'], 'u2netp'));

  expect(await p.waitForJob(key.tenantId, refused)).toMatchObject({ succeeded: 0, failed: 1 });
  const [row] = await p.tasks(key.tenantId, refused);
  expect(row).toMatchObject({ status: 'failed', error_code: 'unknown_model', attempts: 1 });
  expect(row!.error_message).toBe('model "u2net" is not served here; served models: u2netp');
  const metrics = (await get(worker, '/metrics')).text;
  expect(metrics).toMatch(/clearcut_worker_model_load_seconds\{model="u2netp"/);
  expect(metrics).not.toMatch(/model="u2net"/);

  // What a synthetic stand-in made says so, in S3 and in the task's outputs (its result event's).
  expect(await p.waitForJob(key.tenantId, served)).toMatchObject({ succeeded: 1 });
  const [done] = await p.tasks(key.tenantId, served);
  expect(done!.outputs).toEqual([expect.objectContaining({ syntheticModel: true })]);
  const head = await p.s3.store.head(output, 'u2netp/a.cutout.png');
  expect(head?.metadata).toMatchObject({ model: 'u2netp', 'model-synthetic': 'true' });
}, 200_000);

it('refuses to start on a synthetic stand-in unless CLEARCUT_ALLOW_SYNTHETIC_MODELS is true', async () => {
  const dir = await emptyModelDir();
  const refused = p.startWorker({
    CLEARCUT_MODEL_DIR: dir,
    CLEARCUT_MODELS: 'u2netp-int8',
    CLEARCUT_MODEL: 'u2netp-int8',
    CLEARCUT_ALLOW_SYNTHETIC_MODELS: 'false',
  });
  await expect(refused).rejects.toThrow(
    /^Cannot serve model u2netp-int8: Model u2netp has no weights in .*clearcut-serving-.*; only its synthetic stand-in could serve, whose masks are meaningless\. Run `clearcut models pull u2netp`, or `clearcut models import FILE` .* CLEARCUT_ALLOW_SYNTHETIC_MODELS=true serves its synthetic stand-in \(meaningless masks\)\.$/,
  );
}, 60_000);

it('refuses to start when the memory limit it sees is below what its models need, naming both', async () => {
  const cgroup = await emptyModelDir();
  await writeFile(join(cgroup, 'memory.max'), `${256 * 2 ** 20}\n`);
  const refused = p.startWorker({ CLEARCUT_MODELS: 'u2net,u2netp', CLEARCUT_CGROUP_ROOT: cgroup });
  await expect(refused).rejects.toThrow(
    new RegExp(
      `^The worker's memory limit is 256 MiB \\(cgroup limit in ${join(cgroup, 'memory.max')}\\), but serving u2net, u2netp needs ${memoryNeed(['u2net', 'u2netp']).totalMiB} MiB`,
    ),
  );
  // The configured limit wins over the cgroup's: enough of it, and the worker starts.
  const worker = await p.startWorker({
    CLEARCUT_MODELS: 'u2netp',
    CLEARCUT_CGROUP_ROOT: cgroup,
    CLEARCUT_WORKER_MEMORY_LIMIT: `${memoryNeed(['u2netp']).totalMiB}MiB`,
  });
  await worker.stop();
}, 120_000);

it('refuses to start until a served int8 variant is built, then loads it before it consumes a task', async () => {
  const dir = await emptyModelDir();
  const env = {
    ...p.env,
    CLEARCUT_MODEL_DIR: dir,
    CLEARCUT_MODELS: 'u2netp-int8',
    CLEARCUT_MODEL: 'u2netp-int8',
  };
  await expect(p.startWorker(env)).rejects.toThrow(
    /^Cannot serve model u2netp-int8: Model u2netp-int8 has not been built from .*u2netp-seed1\.onnx \(or is out of date\)\. Build it with `clearcut models quantize u2netp`\.$/,
  );
  const built = (await readdir(join(dir, 'synthetic'))).filter((file) => file.endsWith('.onnx'));
  expect(built).toEqual(['u2netp-seed1.onnx']); // the stand-in it may serve, and no int8 file

  const quantized = await runCli(env, 'models', 'quantize', 'u2netp', '--images', '2');
  expect(quantized.status).toBe(0);
  const int8 = join(dir, 'synthetic', 'u2netp-seed1-int8.onnx');
  const before = await stat(int8);
  const worker = await p.startWorker(env);
  onTestFinished(() => worker.stop());
  await untilValue(async () => (await get(worker, '/readyz')).status === 200, {
    what: 'the worker to be ready',
    timeoutMs: 60_000,
  });
  const checks = JSON.parse((await get(worker, '/readyz')).text).checks;
  expect(checks).toMatchObject({ 'model u2netp-int8': true, consuming: true });
  const channel = await p.h.broker.bus.channel();
  try {
    expect((await channel.checkQueue(p.h.broker.names.tasksQueue)).consumerCount).toBe(1);
  } finally {
    await channel.close();
  }
  expect((await stat(int8)).mtimeMs).toBe(before.mtimeMs); // loaded as built, not rebuilt
}, 240_000);
