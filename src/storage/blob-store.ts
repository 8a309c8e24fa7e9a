// The whole object-storage contract core logic sees. Only src/storage/s3-blob-store.ts imports the
// AWS SDK. Every method validates bucket and key first and throws the typed errors of
// ./storage-errors.ts: PermanentError (not_found, access_denied, too_large, invalid_location, ...)
// when retrying cannot help, TransientError (storage_unavailable, aborted) when it can.

import type { Readable } from 'node:stream';

/** User metadata: lowercase keys of letters, digits and hyphens, printable ASCII values (S3 rules). */
export type BlobMetadata = Record<string, string>;

interface BlobDescription {
  /** Without the surrounding quotes S3 puts on the wire, as S3 event records carry it. */
  readonly eTag: string;
  readonly contentType: string | undefined;
  readonly metadata: BlobMetadata;
}

export interface BlobInfo extends BlobDescription {
  readonly size: number;
}

export interface DownloadedBlob extends BlobInfo {
  readonly body: Buffer;
}

export interface BlobReadStream extends BlobDescription {
  /** The declared Content-Length; undefined when the server streams without one. */
  readonly size: number | undefined;
  /**
   * Fails with PermanentError `too_large` as soon as more than `maxBytes` arrive, and with a
   * TransientError when the connection breaks or ends short. Destroy it to stop the download.
   */
  readonly body: Readable;
}

export interface ListedBlob {
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
}

export interface ReadOptions {
  /** The download is refused (PermanentError `too_large`) before more than this many bytes arrive. */
  readonly maxBytes: number;
  /** Aborting fails the request with TransientError `aborted` and closes the connection. */
  readonly signal?: AbortSignal;
  /**
   * Bytes to skip (a ranged read), to resume a long read where it stopped; `maxBytes` then counts
   * from here. An offset at or past the end gives an empty body.
   */
  readonly offset?: number;
}

export interface PutOptions {
  readonly contentType: string;
  readonly metadata?: BlobMetadata;
  readonly signal?: AbortSignal;
}

export interface StreamPutOptions extends PutOptions {
  /** Bytes buffered per part of a multipart upload (S3's minimum, 5 MiB, unless told otherwise). */
  readonly partBytes?: number;
}

export interface ListOptions {
  /** Lists only keys after this one (S3 order: UTF-8 bytes); resumes an interrupted listing. */
  readonly startAfter?: string;
  readonly signal?: AbortSignal;
}

export interface BlobStore {
  /** The whole object in memory; for images and other bounded objects. */
  get(bucket: string, key: string, options: ReadOptions): Promise<DownloadedBlob>;
  /** The object as a stream, for large inputs read piece by piece (manifests). */
  openRead(bucket: string, key: string, options: ReadOptions): Promise<BlobReadStream>;
  /** One PUT request; the object is complete and readable when the promise resolves. */
  put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<{ eTag: string }>;
  /**
   * Streams `body` to the object holding at most one part in memory: one PUT when it fits in a
   * part, else a multipart upload (aborted if anything fails, so no half object ever appears).
   */
  putStream(
    bucket: string,
    key: string,
    body: AsyncIterable<Buffer>,
    options: StreamPutOptions,
  ): Promise<{ eTag: string; parts: number }>;
  /** Size, eTag and metadata of an object; undefined when it (or its bucket) does not exist. */
  head(bucket: string, key: string): Promise<BlobInfo | undefined>;
  /** Keys under `prefix` in S3 order, fetched one page (≤ 1,000 keys) at a time as the caller iterates. */
  list(bucket: string, prefix: string, options?: ListOptions): AsyncIterable<ListedBlob>;
  /** Deletes the object; deleting one that does not exist succeeds (S3's rule). */
  delete(bucket: string, key: string): Promise<void>;
  /** Creates the bucket unless this account already has it (tests and the demo). */
  createBucket(bucket: string): Promise<void>;
  /** Closes idle connections; the store must not be used afterwards. */
  close(): void;
}
