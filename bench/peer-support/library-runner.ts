// Child process: ClearCut as a library user calls it, the one-call `removeBackground(bytes, options)`
// of the package entry (src/library/): the model loads on the first call and is reused by the next,
// as the peer's does. PNG cutout, like the peer's default output.
import { removeBackground } from '../../src/library/index.js';
import { maxRssMiB, type OursRunnerOptions, type RunnerReply, serveRequests } from './runner-protocol.js';

const options = JSON.parse(process.argv[2] ?? '{}') as OursRunnerOptions;
const call = {
  model: { file: options.modelPath, family: options.family },
  threads: options.threads,
  renditions: [{ kind: 'cutout', format: 'png' }],
} as const;

const ready: RunnerReply = {
  type: 'ready',
  // Importing only: like the peer, the model loads on first use, which the first image shows.
  loadMs: 0,
  maxRssMiB: maxRssMiB(),
  description: `clearcut removeBackground (library) on ${options.modelPath} as ${options.family}, ${options.threads} threads`,
};
process.send?.(ready);

serveRequests(async (request) => {
  const begun = performance.now();
  const result = await removeBackground(request.bytes, call);
  return {
    type: 'result',
    id: request.id,
    totalMs: performance.now() - begun,
    modelMs: result.timings.ortMs,
    png: result.outputs[0]!.bytes,
    maxRssMiB: maxRssMiB(),
  };
});
