import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// s3rver 3.7.1's file store with two of its faults fixed (s3rver is a dev dependency; only the
// embedded server process loads this file):
// - putObject answered when its hashing stage finished, not when the file was written, and wrote
//   over the live file: a read right after a PUT could get a short body. Here the body goes to a
//   temporary file that replaces the object by rename only once it is complete.
// - listObjects walked the directory tree in file-name order ("a/x" before "a-b", since the
//   object files are named "<key>._S3rver_object"), but resumed each page after the last key in
//   S3 order, so keys sorting between the two orders were silently skipped. Here keys are sorted
//   as S3 sorts them (UTF-8 bytes) before a page is cut.

const require = createRequire(import.meta.url);

interface S3rverObject {
  readonly bucket: string;
  readonly key: string;
  readonly content: Readable | Buffer;
  readonly metadata: Record<string, string>;
}

interface ListOptions {
  readonly delimiter?: string;
  readonly startAfter?: string;
  readonly prefix?: string;
  readonly maxKeys?: number;
}

interface FilesystemStore {
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  listObjects(
    bucket: string,
    options: ListOptions,
  ): Promise<{ objects: unknown[]; commonPrefixes: string[]; isTruncated: boolean }>;
}

const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as new (
  rootDirectory: string,
) => FilesystemStore;
const S3Object = require('s3rver/lib/models/object.js') as new (
  bucket: string,
  key: string,
  content: null,
  metadata: Record<string, unknown>,
) => unknown;

/** How s3rver names the file holding an object's bytes: `<key>._S3rver_object`. */
const objectSuffix = '._S3rver_object';

export class ReliableFilesystemStore extends FilesystemStore {
  override async putObject(object: S3rverObject): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    // Does not end in the object suffix, so listings never see it.
    const partialPath = `${objectPath}.${randomUUID()}.partial`;
    const hash = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(partialPath),
      );
      const md5 = hash.digest('hex');
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      await rename(partialPath, objectPath);
      return { size, md5 };
    } catch (error) {
      await rm(partialPath, { force: true });
      throw error;
    }
  }

  override async listObjects(bucket: string, options: ListOptions) {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY } = options;
    const after = Buffer.from(startAfter, 'utf8');
    const keys = (await this.keysUnder(bucket, prefix))
      .filter((key) => key.startsWith(prefix))
      .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
      .filter(({ bytes }) => Buffer.compare(bytes, after) > 0)
      // S3 order: unsigned UTF-8 bytes, which is not JavaScript's UTF-16 order for astral characters.
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
      .map(({ key }) => key);
    const commonPrefixes = new Set<string>();
    const selected: string[] = [];
    let isTruncated = false;
    for (const key of keys) {
      const end = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      if (end !== -1) {
        commonPrefixes.add(key.slice(0, end + delimiter.length));
      } else if (selected.length < maxKeys) {
        selected.push(key);
      } else {
        isTruncated = true;
        break;
      }
    }
    const objects = await Promise.all(
      selected.map(async (key) => {
        try {
          return new S3Object(bucket, key, null, await this.getMetadata(bucket, key));
        } catch (error) {
          // Deleted between the directory read and now.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw error;
        }
      }),
    );
    return {
      objects: objects.filter((object) => object !== undefined),
      // Found in key order, so already sorted.
      commonPrefixes: [...commonPrefixes],
      isTruncated,
    };
  }

  /** Every key in the directory that holds `prefix` (a superset of the keys under it). */
  private async keysUnder(bucket: string, prefix: string): Promise<string[]> {
    const directoryKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const directory = join(this.getBucketPath(bucket), directoryKey);
    let names: string[];
    try {
      names = await readdir(directory, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith(objectSuffix))
      .map((name) => directoryKey + name.slice(0, -objectSuffix.length));
  }
}
