// The S3 images a task's renditions use as backgrounds: read-granted, size-capped and decoded like
// a source, once each, before the model runs (a missing or unreadable background fails the item
// without spending an inference on it).
import { backgroundImages } from '../contracts/renditions.js';
import type { Task } from '../contracts/task.js';
import { errorMessage, PermanentError } from '../errors.js';
import { type DecodedImage, decodeImage, type ImageLimits } from '../images/decode.js';
import { allows, type Grant } from '../policy/grants.js';
import type { BlobStore } from '../storage/blob-store.js';

export async function fetchBackgroundImages(
  task: Task,
  grants: readonly Grant[],
  store: BlobStore,
  limits: ImageLimits,
  signal?: AbortSignal,
): Promise<Map<string, DecodedImage>> {
  const images = new Map<string, DecodedImage>();
  for (const { url, bucket, key } of backgroundImages(task.renditions)) {
    if (!allows(grants, { bucket, key }, 'read')) {
      throw new PermanentError(
        'access_denied',
        `tenant ${task.tenant} has no read grant on the background ${url}`,
      );
    }
    const { body } = await store.get(bucket, key, {
      maxBytes: limits.maxInputBytes,
      ...(signal === undefined ? {} : { signal }),
    });
    try {
      images.set(url, await decodeImage(body, limits));
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      throw new PermanentError('invalid_background', `the background ${url}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
  return images;
}
