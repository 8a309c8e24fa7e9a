import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Environment } from '../../src/config.js';

// A long-running ClearCut process (gateway, worker, `clearcut events`) as a child of the test.

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stdout (JSON log lines) so far. */
  output(): string;
  /** The first log line whose `msg` is `message`, parsed; undefined while there is none. */
  logLine(message: string): Record<string, unknown> | undefined;
  /** SIGTERM, then its exit code once it has exited. */
  stop(): Promise<number | null>;
}

/**
 * Runs `node --import tsx <script> ...args` in the repository root with `env` over this process's
 * environment, and resolves once its stdout contains `startedWhen`. `node --import tsx` rather than
 * the tsx CLI, which would run the program in a grandchild that a SIGKILL of the CLI leaves running.
 */
export async function startServiceProcess(
  command: readonly [script: string, ...args: string[]],
  env: Environment,
  startedWhen: string,
  timeoutMs = 60_000,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...command], {
    cwd: root,
    // Info at least: the start is recognised by a log line.
    env: { ...process.env, ...env, CLEARCUT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    // Not left running when it never starts: the test that waited for it has no handle to stop it.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes(startedWhen)) return;
      clearTimeout(timer);
      resolve();
    });
    child.on('exit', (code, signal) =>
      reject(
        new Error(`${command.join(' ')} exited (${code ?? signal}) before starting:\n${output}${errors}`),
      ),
    );
  });
  return {
    child,
    output: () => output,
    logLine(message) {
      for (const line of output.split('\n')) {
        if (!line.includes(message)) continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.msg === message) return parsed;
      }
      return undefined;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
