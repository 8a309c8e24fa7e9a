import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { StreamPutOptions } from './blob-store.js';
import type { StorageRequest } from './storage-errors.js';

// A streamed upload that holds one part in memory at a time. Each part is sent as a Buffer with
// its length, never as a stream: the SDK would send a stream aws-chunked, which S3-protocol
// servers other than AWS may store corrupted (docs/storage.md).

/** S3's smallest part (all but the last); smaller ones are refused with EntityTooSmall. */
export const minPartBytes = 5 * 1024 ** 2;

export type Attempt = <T>(
  request: StorageRequest,
  call: (abortSignal?: AbortSignal) => Promise<T>,
) => Promise<T>;

export async function uploadStream(
  client: S3Client,
  attempt: Attempt,
  request: StorageRequest & { key: string },
  body: AsyncIterable<Buffer>,
  { contentType, metadata = {}, signal, partBytes = minPartBytes }: StreamPutOptions,
): Promise<{ eTag: string; parts: number }> {
  const object = { Bucket: request.bucket, Key: request.key };
  const size = Math.max(partBytes, minPartBytes);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string | undefined; PartNumber: number }[] = [];

  async function uploadPart(part: Buffer) {
    if (uploadId === undefined) {
      const create = new CreateMultipartUploadCommand({
        ...object,
        ContentType: contentType,
        Metadata: metadata,
      });
      const created = await attempt(request, (abortSignal) => client.send(create, { abortSignal }));
      uploadId = created.UploadId;
    }
    const PartNumber = parts.length + 1;
    const upload = new UploadPartCommand({
      ...object,
      UploadId: uploadId,
      PartNumber,
      Body: part,
      ContentLength: part.length,
    });
    const uploaded = await attempt(request, (abortSignal) => client.send(upload, { abortSignal }));
    parts.push({ ETag: uploaded.ETag, PartNumber });
  }

  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= size) {
        const whole = Buffer.concat(pending);
        const rest = Buffer.from(whole.subarray(size)); // a copy: the sent part can be freed
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
        await uploadPart(whole.subarray(0, size));
      }
    }
    const last = Buffer.concat(pending);
    pending = [];
    if (uploadId === undefined) {
      const command = new PutObjectCommand({
        ...object,
        Body: last,
        ContentLength: last.length,
        ContentType: contentType,
        Metadata: metadata,
      });
      const put = await attempt(request, (abortSignal) => client.send(command, { abortSignal }));
      return { eTag: unquote(put.ETag), parts: 1 };
    }
    if (last.length > 0) await uploadPart(last);
    const complete = new CompleteMultipartUploadCommand({
      ...object,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
    });
    const completed = await attempt(request, (abortSignal) => client.send(complete, { abortSignal }));
    return { eTag: unquote(completed.ETag), parts: parts.length };
  } catch (error) {
    // The parts already sent are billed storage until the upload is aborted.
    if (uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ ...object, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw error;
  }
}

export function unquote(eTag: string | undefined): string {
  return (eTag ?? '').replace(/^"(.*)"$/, '$1');
}
