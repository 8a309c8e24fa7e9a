import { addAbortSignal, Readable } from 'node:stream';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Config } from '../config.js';
import { PermanentError } from '../errors.js';
import type { BlobStore, ListedBlob } from './blob-store.js';
import { checkListing, checkLocation, checkMetadata } from './request-checks.js';
import { unquote, uploadStream } from './s3-multipart-upload.js';
import { errorName, type StorageRequest, storageFailure, toStorageError } from './storage-errors.js';

// With ./s3-multipart-upload.ts, the only files that import the AWS SDK. Uploads are always
// Buffers with their length (one PUT, or one per part): the SDK sends aws-chunked (which
// S3-protocol servers other than AWS may store corrupted, see docs/storage.md) only for streamed
// bodies.

function createS3Client(config: Config['storage']): S3Client {
  const checksum = config.checksum === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: config.credentials,
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    // Few SDK retries: the task queue retries transient failures with backoff.
    maxAttempts: config.maxAttempts,
    // The socket timeout is an idle timeout: it also ends a download that stalls halfway.
    requestHandler: { connectionTimeout: config.timeoutMs, socketTimeout: config.timeoutMs },
  });
}

export function createS3BlobStore(config: Config['storage']): BlobStore {
  const client = createS3Client(config);

  /** Runs one SDK call for `request`, its failures turned into typed storage errors. */
  async function attempt<T>(
    request: StorageRequest,
    call: (abortSignal?: AbortSignal) => Promise<T>,
  ): Promise<T> {
    try {
      return await call(request.signal);
    } catch (error) {
      throw toStorageError(error, request);
    }
  }

  const openRead: BlobStore['openRead'] = async (bucket, key, { maxBytes, signal, offset = 0 }) => {
    const request: StorageRequest = { action: 'GET', bucket, key, signal };
    checkLocation(request);
    const range = offset > 0 ? `bytes=${offset}-` : undefined;
    let output: Awaited<ReturnType<typeof getObject>>;
    try {
      output = await getObject(bucket, key, range, signal);
    } catch (error) {
      // S3 answers a range starting at or past the end with 416: nothing is left to read.
      if (range === undefined || errorName(error) !== 'InvalidRange') throw toStorageError(error, request);
      return { eTag: '', contentType: undefined, metadata: {}, size: 0, body: Readable.from([]) };
    }
    const body = output.Body;
    if (!(body instanceof Readable)) {
      throw storageFailure('storage_unavailable', request, 'the response has no readable body');
    }
    const declared = output.ContentLength;
    if (declared !== undefined && declared > maxBytes) {
      body.destroy(); // closes the connection: the rest of the object is never transferred
      throw tooLarge(request, `the object is ${declared} bytes`, maxBytes);
    }
    if (signal) addAbortSignal(signal, body);
    const stream = Readable.from(capped(body, request, maxBytes, declared), { objectMode: false });
    // A caller that drops the stream unread must not leave the connection open until it times out.
    stream.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    return { ...describe(output), size: declared, body: stream };
  };

  const getObject = (bucket: string, key: string, range: string | undefined, abortSignal?: AbortSignal) =>
    client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }), { abortSignal });

  return {
    openRead,

    async putStream(bucket, key, body, options) {
      const request = { action: 'PUT' as const, bucket, key, signal: options.signal };
      checkLocation(request);
      checkMetadata(request, options.metadata ?? {});
      return uploadStream(client, attempt, request, body, options);
    },

    async get(bucket, key, options) {
      const { body, ...info } = await openRead(bucket, key, options);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      return { ...info, size: bytes.length, body: bytes };
    },

    async put(bucket, key, body, { contentType, metadata = {}, signal }) {
      const request: StorageRequest = { action: 'PUT', bucket, key, signal };
      checkLocation(request);
      checkMetadata(request, metadata);
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: contentType,
        Metadata: metadata,
      });
      const output = await attempt(request, (abortSignal) => client.send(command, { abortSignal }));
      return { eTag: unquote(output.ETag) };
    },

    async head(bucket, key) {
      const request: StorageRequest = { action: 'HEAD', bucket, key };
      checkLocation(request);
      try {
        const output = await attempt(request, () =>
          client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
        );
        return { ...describe(output), size: output.ContentLength ?? 0 };
      } catch (error) {
        if (error instanceof PermanentError && error.code === 'not_found') return undefined;
        throw error;
      }
    },

    async *list(bucket, prefix, { startAfter, signal } = {}): AsyncGenerator<ListedBlob> {
      const request: StorageRequest = { action: 'LIST', bucket, key: prefix, signal };
      checkListing({ ...request, key: undefined }, prefix, startAfter);
      let continuationToken: string | undefined;
      do {
        const command = new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix === '' ? undefined : prefix,
          // S3 ignores StartAfter once a continuation token is given.
          StartAfter: continuationToken ? undefined : startAfter,
          ContinuationToken: continuationToken,
        });
        const page = await attempt(request, (abortSignal) => client.send(command, { abortSignal }));
        for (const item of page.Contents ?? []) {
          if (item.Key !== undefined) yield { key: item.Key, size: item.Size ?? 0, eTag: unquote(item.ETag) };
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
        if (page.IsTruncated && !continuationToken) {
          throw storageFailure(
            'storage_unavailable',
            request,
            'a truncated listing page has no continuation token',
          );
        }
      } while (continuationToken);
    },

    async delete(bucket, key) {
      const request: StorageRequest = { action: 'DELETE', bucket, key };
      checkLocation(request);
      await attempt(request, () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    },

    async createBucket(bucket) {
      const request: StorageRequest = { action: 'CREATE BUCKET', bucket };
      checkLocation(request);
      // us-east-1 is the default location and must not be named.
      const location =
        config.region === 'us-east-1'
          ? undefined
          : { LocationConstraint: config.region as BucketLocationConstraint };
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: location }));
      } catch (error) {
        const name = errorName(error);
        if (name === 'BucketAlreadyOwnedByYou') return;
        // AWS says this when another account owns the name; some servers say it for your own bucket.
        // Only a bucket we can reach is good enough.
        if (name === 'BucketAlreadyExists') {
          await attempt(request, () => client.send(new HeadBucketCommand({ Bucket: bucket })));
          return;
        }
        throw toStorageError(error, request);
      }
    },

    close() {
      client.destroy();
    },
  };
}

/** Passes the body through, failing as soon as it outgrows the cap or ends short of its declared length. */
async function* capped(
  body: Readable,
  request: StorageRequest,
  maxBytes: number,
  declared: number | undefined,
) {
  let received = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      received += chunk.length;
      // Leaving the loop destroys the response, closing the connection mid-transfer.
      if (received > maxBytes) throw tooLarge(request, `more than ${maxBytes} bytes arrived`, maxBytes);
      yield chunk;
    }
  } catch (error) {
    throw toStorageError(error, request);
  }
  if (declared !== undefined && received !== declared) {
    throw storageFailure(
      'storage_unavailable',
      request,
      `the body ended after ${received} of ${declared} bytes`,
    );
  }
}

function tooLarge(request: StorageRequest, found: string, maxBytes: number) {
  return storageFailure(
    'too_large',
    request,
    `${found}; the limit is ${maxBytes} bytes, so the download was stopped`,
  );
}

function describe(output: { ETag?: string; ContentType?: string; Metadata?: Record<string, string> }) {
  return { eTag: unquote(output.ETag), contentType: output.ContentType, metadata: output.Metadata ?? {} };
}
