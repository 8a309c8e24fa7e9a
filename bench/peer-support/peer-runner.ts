// Child process: the peer, @imgly/background-removal-node, called as its README shows
// (`removeBackground(blob, config)` → PNG blob), loaded from bench/peer/node_modules only.
//
// Two observers, neither changing what the peer computes: session.run of its onnxruntime-node is
// timed (its model-only time), and the RGBA buffer it hands to sharp for encoding is kept, because
// its PNG is palette-quantized (sharp's png({ quality: 80 }) turns on libimagequant), so alpha read
// back from the file is not the mask it computed.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { peerDistDir, peerPackageName, peerProjectDir } from './install.js';
import { maxRssMiB, type PeerRunnerOptions, type RunnerReply, serveRequests } from './runner-protocol.js';

interface PeerModule {
  removeBackground(image: Blob, config: Record<string, unknown>): Promise<Blob>;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
interface Patchable {
  prototype: Record<string, Method>;
}
/** What sharp keeps of a raw input (sharp/lib/input.js): the buffer handed to it, and its layout. */
interface SharpState {
  options: { input?: { buffer?: Uint8Array; rawChannels?: number } };
}

const options = JSON.parse(process.argv[2] ?? '{}') as PeerRunnerOptions;
const require = createRequire(join(peerProjectDir, 'package.json'));
const seen: { modelMs: number; encoded?: { buffer: Uint8Array; channels: number } } = { modelMs: 0 };

const ort = require('onnxruntime-node') as { InferenceSession: Patchable };
const run = ort.InferenceSession.prototype.run!;
ort.InferenceSession.prototype.run = async function (this: unknown, ...args: unknown[]) {
  const begun = performance.now();
  try {
    return await run.apply(this, args);
  } finally {
    seen.modelMs += performance.now() - begun;
  }
};

const sharp = require('sharp') as Patchable;
const toFormat = sharp.prototype.toFormat!;
sharp.prototype.toFormat = function (this: unknown, ...args: unknown[]) {
  const input = (this as SharpState).options.input;
  if (input?.buffer && input.rawChannels)
    seen.encoded = { buffer: input.buffer, channels: input.rawChannels };
  return toFormat.apply(this, args);
};

const started = performance.now();
const peer = (await import(pathToFileURL(require.resolve(peerPackageName)).href)) as PeerModule;
// Without publicPath the peer looks for its weights under the current directory's node_modules.
const config = { publicPath: pathToFileURL(`${peerDistDir}/`).href, model: options.model };

const ready: RunnerReply = {
  type: 'ready',
  // Importing only: the peer loads its model on first use, which the parent's cold start shows.
  loadMs: performance.now() - started,
  maxRssMiB: maxRssMiB(),
  description: `${peerPackageName} model "${options.model}", its defaults (PNG output, ORT default threads)`,
};
process.send?.(ready);

serveRequests(async (request) => {
  Object.assign(seen, { modelMs: 0, encoded: undefined }); // (not narrowed by the compiler across the await)
  const begun = performance.now();
  const blob = await peer.removeBackground(new Blob([request.bytes], { type: request.mime }), config);
  const png = new Uint8Array(await blob.arrayBuffer());
  const totalMs = performance.now() - begun;
  const { encoded, modelMs } = seen;
  if (encoded?.channels !== 4) throw new Error('did not see the RGBA buffer the peer encoded');
  const alpha = new Uint8Array(encoded.buffer.length / 4);
  for (let pixel = 0; pixel < alpha.length; pixel++) alpha[pixel] = encoded.buffer[pixel * 4 + 3]!;
  return { type: 'result', id: request.id, totalMs, modelMs, png, alpha, maxRssMiB: maxRssMiB() };
});
