import { bucketNameProblem, objectKeyProblem, objectPrefixProblem } from '../contracts/object-keys.js';
import type { BlobMetadata } from './blob-store.js';
import { type StorageRequest, storageFailure } from './storage-errors.js';

// Checks made before any request leaves the process, so a bad name fails with a precise message
// instead of reaching the server (or, with `..` segments, a different object than meant).

/** Bucket name and, when given, key; throws PermanentError `invalid_location`. */
export function checkLocation(request: StorageRequest): void {
  const bucketProblem = bucketNameProblem(request.bucket);
  if (bucketProblem) throw refuse(request, `bucket name "${request.bucket}" ${bucketProblem}`);
  if (request.key === undefined) return;
  const keyProblem = objectKeyProblem(request.key);
  if (keyProblem) throw refuse(request, `key ${JSON.stringify(request.key)} ${keyProblem}`);
}

/** A listing's bucket, prefix and optional start key. */
export function checkListing(request: StorageRequest, prefix: string, startAfter: string | undefined): void {
  checkLocation(request);
  const prefixProblem = objectPrefixProblem(prefix);
  if (prefixProblem) throw refuse(request, `prefix ${JSON.stringify(prefix)} ${prefixProblem}`);
  const startProblem = startAfter === undefined ? undefined : objectKeyProblem(startAfter);
  if (startProblem) throw refuse(request, `startAfter ${JSON.stringify(startAfter)} ${startProblem}`);
}

function refuse(request: StorageRequest, problem: string) {
  return storageFailure('invalid_location', request, problem);
}

const metadataKey = /^[a-z0-9][a-z0-9-]*$/;
const printableAscii = /^[\x20-\x7e]*$/;
/** AWS limit for user-defined metadata: keys plus values, in bytes. */
const maxMetadataBytes = 2048;

/** User metadata S3 and the proxies in front of it carry unchanged; throws PermanentError `invalid_metadata`. */
export function checkMetadata(request: StorageRequest, metadata: BlobMetadata): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!metadataKey.test(key)) {
      throw storageFailure(
        'invalid_metadata',
        request,
        `metadata key ${JSON.stringify(key)} must be lowercase letters, digits and hyphens (S3 lowercases keys; proxies drop underscores)`,
      );
    }
    if (!printableAscii.test(value)) {
      throw storageFailure(
        'invalid_metadata',
        request,
        `metadata "${key}" must be printable ASCII (got ${JSON.stringify(value)}); encode other text first`,
      );
    }
    bytes += key.length + value.length;
  }
  if (bytes > maxMetadataBytes) {
    throw storageFailure(
      'invalid_metadata',
      request,
      `metadata takes ${bytes} bytes; S3 allows ${maxMetadataBytes} (keys plus values)`,
    );
  }
}
