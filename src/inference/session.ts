// The ONNX Runtime adapter: one session, owned by one thread (see ort-thread.ts for why).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { TransientError } from '../errors.js';
import {
  ortThreadSource,
  type ThreadData,
  type ThreadReply,
  type ThreadRequest,
  type ValueInfo,
} from './ort-thread.js';

export type { ValueInfo };

export interface RunResult {
  readonly data: Float32Array;
  readonly dims: readonly number[];
  /** Time inside ONNX Runtime, without the hand-over between threads. */
  readonly runMs: number;
}

export interface ModelSession {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /**
   * Runs the graph on one float32 tensor and returns the output named `output`. Takes ownership of
   * `data` (its buffer moves to the session thread). Calls queue: one graph runs at a time.
   */
  run(data: Float32Array, dims: readonly number[], output: string): Promise<RunResult>;
  /** Releases the session and stops its thread; repeated calls share the first call's promise. */
  close(): Promise<void>;
}

export interface SessionOptions {
  /** ONNX Runtime intra-op threads. */
  readonly threads: number;
  readonly memoryArena: boolean;
  readonly memoryPattern: boolean;
  readonly spinning: boolean;
}

const require = createRequire(import.meta.url);

export async function openModelSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
  const workerData: ThreadData = { ortPath: require.resolve('onnxruntime-node'), modelPath, ...options };
  const thread = new Worker(ortThreadSource, { eval: true, workerData });
  const pending = new Map<number, { resolve: (result: RunResult) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;
  let closing: Promise<void> | undefined;

  const failAll = (error: Error) => {
    failure ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };

  const ready = new Promise<{ inputs: ValueInfo[]; outputs: ValueInfo[] }>((resolve, reject) => {
    thread.on('message', (reply: ThreadReply) => {
      if (reply.type === 'ready') resolve(reply);
      else if (reply.type === 'failed')
        reject(new Error(`ONNX Runtime cannot load ${modelPath}: ${reply.message}`));
      else if (reply.type === 'result' || reply.type === 'error') {
        const waiter = pending.get(reply.id);
        pending.delete(reply.id);
        if (reply.type === 'result') waiter?.resolve(reply);
        else waiter?.reject(new Error(`ONNX Runtime run failed: ${reply.message}`));
      }
    });
    thread.on('error', (error) => {
      reject(error);
      failAll(
        new TransientError('inference_failed', `The inference thread crashed: ${error.message}`, {
          cause: error,
        }),
      );
    });
    thread.on('exit', (code) => {
      const error = closing
        ? new Error('The model session is closed.')
        : new TransientError('inference_failed', `The inference thread stopped (exit code ${code}).`);
      reject(error);
      failAll(error);
    });
  });

  let info: { inputs: ValueInfo[]; outputs: ValueInfo[] };
  try {
    info = await ready;
  } catch (error) {
    await thread.terminate();
    throw error;
  }

  return {
    inputs: info.inputs,
    outputs: info.outputs,
    run(data, dims, output) {
      if (failure) return Promise.reject(failure);
      if (closing) return Promise.reject(new Error('The model session is closed.'));
      const id = nextId++;
      return new Promise<RunResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const request: ThreadRequest = { type: 'run', id, data, dims, output };
        thread.postMessage(request, [data.buffer as ArrayBuffer]);
      });
    },
    close() {
      closing ??= (async () => {
        if (!failure) {
          const released = new Promise<void>((resolve) => {
            thread.on('message', (reply: ThreadReply) => reply.type === 'closed' && resolve());
            thread.once('exit', () => resolve());
          });
          const request: ThreadRequest = { type: 'close' };
          thread.postMessage(request);
          await released;
        }
        await thread.terminate();
      })();
      return closing;
    },
  };
}
