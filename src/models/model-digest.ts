// SHA-256 of model files, remembered in a sidecar so a worker start does not rehash 176 MB each time.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileDigest {
  readonly size: number;
  readonly sha256: string;
}

interface Sidecar extends FileDigest {
  readonly mtimeMs: number;
}

/** `.u2net.onnx.sha256` next to `u2net.onnx`: hidden, and never mistaken for a model file. */
export function sidecarPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.sha256`);
}

/**
 * The digest of the file at `path`, or undefined when there is no such file. A sidecar counts only
 * while the file keeps the size and modification time it had when hashed; anything else rehashes.
 */
export async function fileDigest(path: string): Promise<FileDigest | undefined> {
  const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stats?.isFile()) return undefined;
  const remembered = await readSidecar(path);
  if (remembered && remembered.size === stats.size && remembered.mtimeMs === stats.mtimeMs) {
    return { size: remembered.size, sha256: remembered.sha256 };
  }
  const sha256 = await hashFile(path);
  await rememberDigest(path, sha256);
  return { size: stats.size, sha256 };
}

/** Records a digest already known (just downloaded or built) for the file as it is now on disk. */
export async function rememberDigest(path: string, sha256: string): Promise<void> {
  const { size, mtimeMs } = await stat(path);
  const sidecar: Sidecar = { size, mtimeMs, sha256 };
  // Temp + rename: a reader never sees half a sidecar, and two writers agree on the content anyway.
  const temporary = `${sidecarPath(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, JSON.stringify(sidecar));
  await rename(temporary, sidecarPath(path));
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const parsed = JSON.parse(await readFile(sidecarPath(path), 'utf8')) as Partial<Sidecar>;
    const valid =
      typeof parsed.size === 'number' &&
      typeof parsed.mtimeMs === 'number' &&
      typeof parsed.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(parsed.sha256);
    return valid ? (parsed as Sidecar) : undefined;
  } catch {
    return undefined; // absent or unreadable: hash again
  }
}
