// Child process: ClearCut's own path, as `clearcut remove` and the worker run it: a local ONNX file
// resolved as a registry family, one engine, removeBackground (decode → mask → PNG cutout).
import { loadConfig } from '../../src/config.js';
import { renditionListSchema } from '../../src/contracts/renditions.js';
import { createEngine } from '../../src/inference/engine.js';
import { removeBackground } from '../../src/inference/remove.js';
import { resolveLocalModel } from '../../src/models/local-model.js';
import { maxRssMiB, type OursRunnerOptions, type RunnerReply, serveRequests } from './runner-protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as OursRunnerOptions;
const limits = loadConfig(process.env).inference;
const renditions = renditionListSchema.parse([{ kind: 'cutout', format: 'png' }]);

const started = performance.now();
const overrides = { ...(options.mean && { mean: options.mean }), ...(options.std && { std: options.std }) };
const model = await resolveLocalModel(options.modelPath, options.family, overrides);
const engine = await createEngine(model, { threads: options.threads });
const ready: RunnerReply = {
  type: 'ready',
  loadMs: performance.now() - started,
  maxRssMiB: maxRssMiB(),
  description: `clearcut ${model.spec.file} as ${options.family}, mean ${model.spec.mean.join('/')}, std ${model.spec.std.join('/')}, ${options.threads} threads`,
};
process.send?.(ready);

serveRequests(async (request) => {
  const begun = performance.now();
  const result = await removeBackground(engine, Buffer.from(request.bytes), renditions, limits);
  const totalMs = performance.now() - begun;
  return {
    type: 'result',
    id: request.id,
    totalMs,
    modelMs: result.timings.ortMs,
    png: result.outputs[0]!.bytes,
    maxRssMiB: maxRssMiB(),
  };
});
