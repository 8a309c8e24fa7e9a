// Writes model files so that no reader ever sees a partial one: into a temp name in the same directory,
// hashed on the way, checked, flushed to disk, then renamed over the final name.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type FileDigest, rememberDigest } from './model-digest.js';

export type ChunkSink = (chunk: Uint8Array) => Promise<void>;

export interface AtomicWriteOptions {
  /** Throws to refuse the file (e.g. a checksum mismatch); the temp file is then removed. */
  readonly check?: (digest: FileDigest) => void;
}

export async function writeFileAtomically(
  path: string,
  produce: (sink: ChunkSink) => Promise<void>,
  { check }: AtomicWriteOptions = {},
): Promise<FileDigest> {
  await mkdir(dirname(path), { recursive: true });
  // Starts with a dot and ends in .partial: `models list` and resolveModel never take it for a model.
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
  );
  const handle = await open(temporary, 'wx');
  const hash = createHash('sha256');
  let size = 0;
  try {
    await produce(async (chunk) => {
      hash.update(chunk);
      size += chunk.byteLength;
      await handle.write(chunk);
    });
    const digest = { size, sha256: hash.digest('hex') };
    check?.(digest);
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
    await rememberDigest(path, digest.sha256);
    return digest;
  } catch (error) {
    await handle.close().catch(() => undefined); // already closed when the rename failed
    await rm(temporary, { force: true });
    throw error;
  }
}
