import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// An S3-protocol server from npm (s3rver, a dev dependency) for tests and the demo, in a child
// process of its own (see ./embedded-s3-process.ts). Not for production: one process, files on
// local disk, no multipart listing (`GET ?uploads`), and a fixed pair of credentials.

export interface EmbeddedS3 {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** CLEARCUT_S3_* variables that point a ClearCut process at this server. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the objects live on disk. */
  readonly directory: string;
  readonly pid: number;
  /** Stops the server (and deletes its directory unless one was given); repeated calls share one promise. */
  close(): Promise<void>;
}

export interface EmbeddedS3Options {
  /** Keep the objects here, across runs; by default a fresh temporary directory deleted on close. */
  readonly directory?: string;
}

/** s3rver accepts only its built-in account. */
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const startupTimeoutMs = 30_000;

export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'clearcut-s3-')));
  const lifetime = options.directory === undefined ? 'ephemeral' : 'keep';
  const child = fork(processEntry(), [directory, lifetime], {
    execArgv: processFlags(),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const port = await listeningPort(child, () => stderr).catch(async (error: unknown) => {
    if (lifetime === 'ephemeral') await rm(directory, { recursive: true, force: true });
    throw error;
  });
  // Neither the IPC channel nor the pipe may keep the caller alive; when the caller exits, the
  // channel closes and the server process stops itself.
  child.channel?.unref();
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();

  const endpoint = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    region: 'us-east-1',
    credentials,
    env: {
      CLEARCUT_S3_ENDPOINT: endpoint,
      CLEARCUT_S3_REGION: 'us-east-1',
      CLEARCUT_S3_FORCE_PATH_STYLE: 'true',
      CLEARCUT_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      CLEARCUT_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      CLEARCUT_S3_CHECKSUM: 'when_required',
    },
    directory,
    pid: child.pid ?? 0,
    close() {
      closing ??= stopProcess(child);
      return closing;
    },
  };
}

/** The entry file next to this one, .ts when running from source (tsx) and .js when built. */
function processEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return join(self, '..', `embedded-s3-process${extname(self)}`);
}

function processFlags(): string[] {
  // Explicit flags: the caller's own execArgv (test-runner loaders, inspectors) must not leak in.
  const flags = ['--openssl-legacy-provider'];
  if (processEntry().endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    flags.push('--import', pathToFileURL(tsx).href);
  }
  return flags;
}

function listeningPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (problem: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const output = stderr().trim();
      reject(new Error(`The embedded S3 server ${problem}${output ? `:\n${output}` : ''}`));
    };
    const timer = setTimeout(
      () => fail(`did not start within ${startupTimeoutMs / 1000} s`),
      startupTimeoutMs,
    );
    child.once('error', (error) => fail(`could not be started (${error.message})`));
    child.once('exit', (code, signal) => fail(`exited before listening (${signal ?? `code ${code}`})`));
    child.once('message', (message: { port?: unknown }) => {
      if (typeof message.port !== 'number')
        return fail(`sent an unexpected message ${JSON.stringify(message)}`);
      clearTimeout(timer);
      child.removeAllListeners('exit').removeAllListeners('error');
      // From now on a failed kill or message is not worth crashing the caller for.
      child.on('error', () => {});
      resolve(message.port);
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // Held again while stopping, so that a caller awaiting close() is still alive to see it end.
    child.ref();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
