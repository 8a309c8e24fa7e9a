import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

// The demo's gateway and worker: real processes from workers/, run with tsx, as `npm run gateway`
// and `npm run worker` would run them.

export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last lines it wrote, for a failure message. */
  output(): string;
  /** SIGTERM (the process drains), then SIGKILL if it takes longer than `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, entry: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    name,
    process: child,
    output: () => output,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Resolves when http://127.0.0.1:port/readyz answers 200; fails if the child exits first or time runs out. */
export async function waitUntilReady(child: Child, port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) {
      throw new Error(`the ${child.name} exited with code ${child.process.exitCode}:\n${child.output()}`);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the ${child.name} was not ready after ${timeoutMs / 1000} s:\n${child.output()}`);
}

/** A port free right now on 127.0.0.1, for a child told which port to listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
