import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startEmbeddedS3 } from '../../infra/dev/embedded-s3/embedded-s3.js';
import { loadConfig } from '../../src/config.js';
import { createS3BlobStore } from '../../src/storage/s3-blob-store.js';

// The embedded server's lifecycle: its files, and that it never outlives whoever started it.

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    if (condition()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** A process running test/storage/fixtures/embedded-s3-parent.ts. */
function startParent(mode: 'idle' | 'close') {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const fixture = fileURLToPath(new URL('./fixtures/embedded-s3-parent.ts', import.meta.url));
  return spawn(process.execPath, ['--import', tsx, fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
}

describe('embedded S3 server', () => {
  it('deletes its temporary directory on close; then every call is TransientError storage_unavailable', async () => {
    const server = await startEmbeddedS3();
    const store = createS3BlobStore(loadConfig(server.env).storage);
    try {
      await store.createBucket('lifecycle');
      await store.put('lifecycle', 'k', Buffer.from('x'), { contentType: 'text/plain' });
      expect(existsSync(join(server.directory, 'lifecycle'))).toBe(true);
      await server.close();
      await server.close(); // repeated close is harmless
      expect(isRunning(server.pid)).toBe(false);
      expect(existsSync(server.directory)).toBe(false);
      const calls = [
        () => store.get('lifecycle', 'k', { maxBytes: 10 }),
        () => store.put('lifecycle', 'k', Buffer.from('x'), { contentType: 'text/plain' }),
        () => store.head('lifecycle', 'k'),
        () => store.list('lifecycle', '')[Symbol.asyncIterator]().next(),
      ];
      for (const call of calls) {
        await expect(call()).rejects.toMatchObject({ name: 'TransientError', code: 'storage_unavailable' });
      }
    } finally {
      store.close();
      await server.close();
    }
  });

  it('keeps a directory it was given, and serves its objects again after a restart', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'clearcut-s3-kept-'));
    try {
      const first = await startEmbeddedS3({ directory });
      const writer = createS3BlobStore(loadConfig(first.env).storage);
      await writer.createBucket('kept');
      await writer.put('kept', 'a/b.txt', Buffer.from('persisted'), { contentType: 'text/plain' });
      writer.close();
      await first.close();

      const second = await startEmbeddedS3({ directory });
      const reader = createS3BlobStore(loadConfig(second.env).storage);
      try {
        expect((await reader.get('kept', 'a/b.txt', { maxBytes: 100 })).body.toString()).toBe('persisted');
      } finally {
        reader.close();
        await second.close();
      }
      expect(existsSync(join(directory, 'kept'))).toBe(true);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('lets a process await close() as its last step and go on', async () => {
    const parent = startParent('close');
    const [output, [code]] = await Promise.all([text(parent.stdout), once(parent, 'exit')]);
    expect(code).toBe(0);
    expect(output).toMatch(/\n?closed\n$/);
  });

  it('dies with its parent, even when the parent is SIGKILLed, and removes its files', async () => {
    const parent = startParent('idle');
    try {
      const [line] = await Promise.race([
        createInterface({ input: parent.stdout })
          [Symbol.asyncIterator]()
          .next()
          .then((next) => [next.value]),
        new Promise<never>((_, reject) =>
          parent.once('exit', (code) => reject(new Error(`parent exited ${code}`))),
        ),
      ]);
      const { pid, directory } = JSON.parse(String(line)) as { pid: number; directory: string };
      expect(isRunning(pid)).toBe(true);
      parent.kill('SIGKILL');
      await waitUntil(() => !isRunning(pid), `embedded server ${pid} to exit after its parent was killed`);
      expect(existsSync(directory)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
