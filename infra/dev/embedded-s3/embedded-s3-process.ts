import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReliableFilesystemStore } from './embedded-s3-store.js';

// The embedded S3 server's own process, forked by ./embedded-s3.ts with the OpenSSL legacy
// provider enabled: s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3
// refuses by default (ERR_OSSL_EVP_UNSUPPORTED on every truncated listing). Keeping that flag and
// s3rver's CPU work here leaves the caller's process untouched.
//
// argv: <directory> <"ephemeral" | "keep">. Reports `{ port }` over IPC once listening; exits when
// the parent goes away (IPC disconnect, even after SIGKILL) or on SIGTERM/SIGINT, removing an
// ephemeral directory first.

interface S3rverServer {
  store: unknown;
  context: { store: unknown };
  run(): Promise<{ port: number }>;
}

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverServer;

const [directory = '', lifetime] = process.argv.slice(2);
if (directory === '' || (lifetime !== 'ephemeral' && lifetime !== 'keep') || !process.send) {
  process.stderr.write('usage: fork embedded-s3-process <directory> ephemeral|keep (with an IPC channel)\n');
  process.exit(2);
}

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  if (lifetime === 'ephemeral') rmSync(directory, { recursive: true, force: true });
  // Open keep-alive connections would hold a graceful close open; the process is ending anyway.
  process.exit(0);
}
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  vhostBuckets: false,
});
server.store = server.context.store = new ReliableFilesystemStore(directory);
const { port } = await server.run();
process.send({ port });
