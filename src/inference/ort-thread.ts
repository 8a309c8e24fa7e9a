// The code of the thread that owns the ONNX Runtime session.
//
// Why a thread: onnxruntime-node's `session.run` returns a promise but runs the whole graph
// synchronously on the calling thread (its backend only defers the call with setImmediate), so a
// U²-Net pass would freeze the event loop for a second or more: no AMQP heartbeats, no HTTP
// probes, no overlapping downloads. Why a source string: the thread is started with `eval`, which
// works the same under tsx, vitest and the compiled build, where a separate .ts file would not load.
//
// Protocol (structured-clone messages):
//   thread → main  { type: 'ready', inputs, outputs }  |  { type: 'failed', message }
//   main → thread  { type: 'run', id, data: Float32Array, dims, output }  |  { type: 'close' }
//   thread → main  { type: 'result', id, data, dims, runMs }  |  { type: 'error', id, message }
//                  { type: 'closed' }

export interface ThreadData {
  /** Absolute path of onnxruntime-node's entry, resolved by the main thread. */
  readonly ortPath: string;
  readonly modelPath: string;
  readonly threads: number;
  /** ONNX Runtime's CPU memory arena (enableCpuMemArena). */
  readonly memoryArena: boolean;
  /** Pre-planned activation buffers (enableMemPattern). */
  readonly memoryPattern: boolean;
  /** Whether idle intra-op threads spin (session.intra_op.allow_spinning). */
  readonly spinning: boolean;
}

export interface ValueInfo {
  readonly name: string;
  /** Numbers for fixed axes, names for symbolic ones (e.g. 'batch'). */
  readonly shape: readonly (number | string)[];
}

export type ThreadReply =
  | { readonly type: 'ready'; readonly inputs: ValueInfo[]; readonly outputs: ValueInfo[] }
  | { readonly type: 'failed'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly data: Float32Array;
      readonly dims: number[];
      readonly runMs: number;
    }
  | { readonly type: 'error'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };

export type ThreadRequest =
  | {
      readonly type: 'run';
      readonly id: number;
      readonly data: Float32Array;
      readonly dims: readonly number[];
      readonly output: string;
    }
  | { readonly type: 'close' };

export const ortThreadSource = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const describe = (metadata) => metadata.map((value) => ({ name: value.name, shape: value.isTensor ? value.shape : [] }));
const messageOf = (error) => (error && error.message) || String(error);
let session;
// As collect-garbage.ts: the last run's input and output go before the next run's peak.
require('node:v8').setFlagsFromString('--expose-gc');
const collectGarbage = require('node:vm').runInNewContext('gc');

// One request at a time, in arrival order: a close never overtakes a run still in flight.
let queue = Promise.resolve();
parentPort.on('message', (request) => {
  queue = queue.then(() => handle(request));
});

async function handle(request) {
  if (request.type === 'close') {
    try { if (session) await session.release(); } finally { parentPort.postMessage({ type: 'closed' }); parentPort.close(); }
    return;
  }
  try {
    collectGarbage({ type: 'minor' });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', request.data, request.dims) };
    const started = performance.now();
    const results = await session.run(feeds, [request.output]);
    const runMs = performance.now() - started;
    const result = results[request.output];
    // Moved, not copied: the thread keeps no second copy of the output.
    parentPort.postMessage({ type: 'result', id: request.id, data: result.data, dims: result.dims, runMs }, [result.data.buffer]);
  } catch (error) {
    parentPort.postMessage({ type: 'error', id: request.id, message: messageOf(error) });
  }
}

const spin = workerData.spinning ? '1' : '0';
ort.InferenceSession.create(workerData.modelPath, {
  intraOpNumThreads: workerData.threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  enableCpuMemArena: workerData.memoryArena,
  enableMemPattern: workerData.memoryPattern,
  extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
}).then(
  (created) => {
    session = created;
    parentPort.postMessage({ type: 'ready', inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });
  },
  (error) => parentPort.postMessage({ type: 'failed', message: messageOf(error) }),
);
`;
