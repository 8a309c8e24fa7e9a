// The parent's side of the runner processes: start one, send it images one at a time, stop it.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type {
  OursRunnerOptions,
  PeerRunnerOptions,
  RunnerReply,
  RunRequest,
  RunResult,
} from './runner-protocol.js';

export interface Runner {
  readonly description: string;
  /** From start to ready (ours: model loaded; the peer: module imported, model loads on first use). */
  readonly startMs: number;
  run(name: string, bytes: Uint8Array, mime: string): Promise<RunResult>;
  close(): Promise<void>;
}

/** Ours runs with glibc's malloc settings as infra/Dockerfile sets them for the product's processes. */
const oursEnv = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '1048576',
};

export function startOursRunner(options: OursRunnerOptions): Promise<Runner> {
  return startRunner('ours-runner.ts', options, oursEnv);
}

/** ClearCut through its library's one-call `removeBackground` (bench:library). */
export function startLibraryRunner(options: OursRunnerOptions): Promise<Runner> {
  return startRunner('library-runner.ts', options, oursEnv);
}

export function startPeerRunner(options: PeerRunnerOptions): Promise<Runner> {
  return startRunner('peer-runner.ts', options);
}

async function startRunner(
  script: string,
  options: object,
  env: Record<string, string> = {},
): Promise<Runner> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const started = performance.now();
  const child = fork(path, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    serialization: 'advanced', // Uint8Arrays cross as bytes, not as JSON objects
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, { resolve: (result: RunResult) => void; reject: (error: Error) => void }>();
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure ??= error;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  const ready = new Promise<Extract<RunnerReply, { type: 'ready' }>>((resolve, reject) => {
    child.on('message', (reply: RunnerReply) => {
      if (reply.type === 'ready') return resolve(reply);
      const waiter = waiting.get(reply.id);
      waiting.delete(reply.id);
      if (reply.type === 'result') waiter?.resolve(reply);
      else waiter?.reject(new Error(`${script}: ${reply.message}`));
    });
    child.once('error', (error) => {
      reject(error);
      failAll(error);
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`${script} exited (${signal ?? `code ${code}`})`);
      reject(error);
      failAll(error);
    });
  });
  const info = await ready.catch(async (error: unknown) => {
    await stop(child);
    throw error;
  });
  let nextId = 1;
  return {
    description: info.description,
    startMs: performance.now() - started,
    run(name, bytes, mime) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<RunResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        const request: RunRequest = { type: 'run', id, name, bytes, mime };
        child.send(request);
      });
    },
    close: () => stop(child),
  };
}

/** Disconnecting tells the runner to exit; a runner that does not is killed after 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
