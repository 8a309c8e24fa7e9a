// Image files on the local disk, for `clearcut remove`: which to process, where their outputs go,
// and how outputs are written so that no reader ever sees half a file.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { sniffImage, sniffLength } from './sniff.js';

export interface LocalSource {
  readonly path: string;
  /** Path under the folder it was found in (or the file's name), without its extension. */
  readonly stem: string;
}

export interface LocalNote {
  readonly path: string;
  readonly reason: string;
}

export interface Discovery {
  readonly sources: readonly LocalSource[];
  /** Files passed over (not images); worth a note, not a failure. */
  readonly skipped: readonly LocalNote[];
  /** Arguments that name nothing readable. */
  readonly missing: readonly LocalNote[];
}

/** Names that say "JPEG, PNG or WebP": such a file that is not one is a failure, not a skip. */
const claimedImageExtensions = new Set(['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp']);

/**
 * Files named on the command line are always taken (and fail later if they are not images);
 * folders are walked recursively in name order, skipping hidden entries and `exclude` (the output
 * folder), and keeping a file when its name claims an image or its first bytes are one.
 */
export async function findLocalImages(paths: readonly string[], exclude?: string): Promise<Discovery> {
  const sources: LocalSource[] = [];
  const skipped: LocalNote[] = [];
  const missing: LocalNote[] = [];
  const excluded = exclude === undefined ? undefined : resolve(exclude);

  const walk = async (folder: string, root: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (excluded && resolve(path) === excluded) continue;
      if (entry.isDirectory()) await walk(path, root);
      else if (entry.isFile()) {
        const note = await notAnImage(path);
        if (note) skipped.push({ path, reason: note });
        else sources.push({ path, stem: withoutExtension(relative(root, path)) });
      }
    }
  };

  for (const path of paths) {
    const stats = await stat(path).catch(() => undefined);
    if (!stats) missing.push({ path, reason: 'no such file or folder' });
    else if (stats.isDirectory()) await walk(path, path);
    else if (stats.isFile()) sources.push({ path, stem: withoutExtension(basename(path)) });
    else missing.push({ path, reason: 'not a regular file or folder' });
  }
  return { sources, skipped, missing };
}

/** Why a file found in a folder is not taken, or undefined to take it. */
async function notAnImage(path: string): Promise<string | undefined> {
  if (claimedImageExtensions.has(extname(path).toLowerCase())) return undefined;
  const sniffed = sniffImage(await readHead(path));
  return sniffed.supported ? undefined : sniffed.description;
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(sniffLength);
    const { bytesRead } = await handle.read(buffer, 0, sniffLength, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function withoutExtension(path: string): string {
  const extension = extname(path);
  return extension ? path.slice(0, -extension.length) : path;
}

/** `<out>/<stem>.<rendition>.<extension>`, with the stem's folders kept. */
export function localOutputPath(out: string, stem: string, rendition: string, extension: string): string {
  return join(out, `${stem}.${rendition}.${extension}`);
}

/** Writes to a hidden temp name beside `path`, then renames: the final name only ever holds a whole file. */
export async function writeFileAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`,
  );
  try {
    await writeFile(temporary, bytes, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
