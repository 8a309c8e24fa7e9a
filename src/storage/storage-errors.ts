import { errorMessage, PermanentError, TransientError } from '../errors.js';

// Storage failures as the typed errors the queue acts on: permanent ones fail the item at once,
// transient ones go back for a retry with backoff. The codes travel in task rows and result events.

export const storageErrorCodes = [
  /** The object or its bucket does not exist. */
  'not_found',
  /** The credentials may not do this to this bucket or key. */
  'access_denied',
  /** The object is larger than the caller's byte limit; the download was cut off. */
  'too_large',
  /** The bucket name, key or prefix breaks the naming rules (src/contracts/object-keys.ts). */
  'invalid_location',
  /** User metadata that S3 cannot carry (key characters, non-ASCII values, over 2 KB). */
  'invalid_metadata',
  /** Any other refusal of the request by the server (HTTP 4xx). */
  'storage_rejected',
  /** 5xx, throttling, timeouts, refused or broken connections, short bodies: worth a retry. */
  'storage_unavailable',
  /** The caller's AbortSignal fired (shutdown); the work can run again later. */
  'aborted',
] as const;

export type StorageErrorCode = (typeof storageErrorCodes)[number];
export type StorageError = PermanentError | TransientError;

/** What was being done, for messages and for telling the caller's abort from other failures. */
export interface StorageRequest {
  readonly action: 'GET' | 'PUT' | 'HEAD' | 'LIST' | 'DELETE' | 'CREATE BUCKET';
  readonly bucket: string;
  readonly key?: string;
  readonly signal?: AbortSignal | undefined;
}

const permissionFor: Record<StorageRequest['action'], string> = {
  GET: 's3:GetObject',
  PUT: 's3:PutObject',
  HEAD: 's3:GetObject',
  LIST: 's3:ListBucket',
  DELETE: 's3:DeleteObject',
  'CREATE BUCKET': 's3:CreateBucket',
};

const accessDeniedNames = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
]);
const retryableNames = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

export function describeRequest({ action, bucket, key }: StorageRequest): string {
  return `${action} s3://${bucket}/${key ?? ''}`;
}

export function storageFailure(
  code: StorageErrorCode,
  request: StorageRequest,
  problem: string,
  cause?: unknown,
): StorageError {
  const options = cause === undefined ? undefined : { cause };
  const message = `${describeRequest(request)}: ${problem}`;
  return code === 'storage_unavailable' || code === 'aborted'
    ? new TransientError(code, message, options)
    : new PermanentError(code, message, options);
}

/** Maps whatever the SDK, the HTTP stack or a stream threw to a typed storage error. */
export function toStorageError(error: unknown, request: StorageRequest): StorageError {
  if (error instanceof PermanentError || error instanceof TransientError) return error;
  if (request.signal?.aborted) return storageFailure('aborted', request, 'aborted by the caller', error);
  const name = errorName(error);
  const status = httpStatus(error);
  const detail = status === undefined ? errorMessage(error) : `${name} (HTTP ${status})`;
  if (name === 'NoSuchBucket') {
    return storageFailure('not_found', request, `bucket "${request.bucket}" does not exist`, error);
  }
  if (name === 'NoSuchKey' || status === 404) {
    return storageFailure('not_found', request, `no such object (${detail})`, error);
  }
  if (isRetryable(name, status)) {
    return storageFailure('storage_unavailable', request, `storage unavailable: ${detail}`, error);
  }
  if (status === 403 || accessDeniedNames.has(name)) {
    const permission = permissionFor[request.action];
    return storageFailure(
      'access_denied',
      request,
      `access denied (${detail}); the credentials need ${permission} here`,
      error,
    );
  }
  return storageFailure(
    'storage_rejected',
    request,
    `refused by the server: ${detail}: ${errorMessage(error)}`,
    error,
  );
}

function isRetryable(name: string, status: number | undefined): boolean {
  // No status: the request never got an answer (refused, reset, timed out). A 2xx that still
  // failed is an unreadable reply, as from a proxy in the way.
  if (status === undefined || status < 300) return true;
  return status === 408 || status === 429 || status >= 500 || retryableNames.has(name);
}

/** S3 error code ("NoSuchKey") or JavaScript error name ("TimeoutError"). */
export function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'Error';
  const { Code, name } = error as { Code?: unknown; name?: unknown };
  if (typeof Code === 'string') return Code;
  return typeof name === 'string' ? name : 'Error';
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}
