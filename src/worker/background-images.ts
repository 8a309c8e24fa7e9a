// The S3 images a task's renditions use as backgrounds: read-granted, size-capped and decoded like
// a source, once each, before the model runs (a missing or unreadable background fails the item
// without spending an inference on it). Each is decoded only as large as the largest output it is
// drawn on, so a producer's 100-megapixel background costs what the outputs cost, not more.
import { backgroundImages, renditionOutputs } from '../contracts/renditions.js';
import type { Task } from '../contracts/task.js';
import { errorMessage, PermanentError } from '../errors.js';
import { type DecodedImage, decodeImage, type ImageLimits, readImageHeader } from '../images/decode.js';
import type { Size } from '../inference/geometry.js';
import { outputSize } from '../inference/output-size.js';
import { allows, type Grant } from '../policy/grants.js';
import type { BlobStore } from '../storage/blob-store.js';

/**
 * Fetches and decodes the task's background images, by their "s3://bucket/key". `source` is the
 * source's bytes: its header (refused with the source's own code when it is not an acceptable
 * image) gives the size of every output. A background that is missing, unreadable, too large or
 * not an image fails the item with invalid_background; a passing storage fault is rethrown as is.
 */
export async function fetchBackgroundImages(
  task: Task,
  grants: readonly Grant[],
  store: BlobStore,
  limits: ImageLimits,
  source: Buffer,
  signal?: AbortSignal,
): Promise<Map<string, DecodedImage>> {
  const images = new Map<string, DecodedImage>();
  const wanted = backgroundImages(task.renditions);
  if (wanted.length === 0) return images;
  const frame = await readImageHeader(source, limits);
  for (const { url, bucket, key } of wanted) {
    if (!allows(grants, { bucket, key }, 'read')) {
      throw new PermanentError(
        'access_denied',
        `tenant ${task.tenant} has no read grant on the background ${url}`,
      );
    }
    try {
      const { body } = await store.get(bucket, key, {
        maxBytes: limits.maxInputBytes,
        ...(signal === undefined ? {} : { signal }),
      });
      images.set(url, await decodeImage(body, limits, drawnAt(task, url, frame)));
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      throw new PermanentError('invalid_background', `the background ${url}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }
  return images;
}

/**
 * The largest size each output on the background `url` can have: a canvas around the subject only
 * grows with it, so the whole source frame as the subject bounds it.
 */
function drawnAt(task: Task, url: string, frame: Size): Size[] {
  return renditionOutputs(task.renditions)
    .filter(({ rendition }) => rendition.kind === 'background' && rendition.background === url)
    .map(({ rendition }) => outputSize(rendition, frame, null));
}
