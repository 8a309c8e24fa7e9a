// Stable codes of a failed item — `item.failed` result events, task rows, the results manifest and
// dead-letter headers — each with what the worker does about it. Producers switch on these strings,
// so they are part of the wire format: add new ones, never rename or remove one.
//
//   fail         the item fails at once (the same input would fail the same way)
//   retry        retry queue with backoff; after CLEARCUT_MAX_ATTEMPTS the dead-letter queue
//   dead-letter  straight to the dead-letter queue: the task message itself is unusable

import { storableText } from './storable-text.js';

export type ItemErrorDecision = 'fail' | 'retry' | 'dead-letter';

export const itemErrorCodes = {
  // The source object (src/storage/storage-errors.ts)
  not_found: 'fail',
  access_denied: 'fail',
  too_large: 'fail',
  invalid_location: 'fail',
  invalid_metadata: 'fail',
  storage_rejected: 'fail',
  storage_unavailable: 'retry',
  aborted: 'retry',
  // The image (src/images/refusal.ts)
  empty_file: 'fail',
  unsupported_format: 'fail',
  too_many_pixels: 'fail',
  animated_image: 'fail',
  corrupt_image: 'fail',
  decode_timeout: 'fail',
  // The model (src/models)
  unknown_model: 'fail',
  model_missing: 'fail',
  model_checksum_mismatch: 'fail',
  model_invalid: 'fail',
  model_unsupported: 'fail',
  inference_failed: 'retry',
  // The outputs (src/inference, src/contracts/output-keys.ts)
  output_too_large: 'fail',
  render_failed: 'fail',
  invalid_output_key: 'fail',
  /** A background rendition's image cannot be fetched or is not an image (src/worker/background-images.ts). */
  invalid_background: 'fail',
  /** Another item of the job writes the same output key (src/worker/output-claims.ts). */
  output_collision: 'fail',
  // The task message, and anything no code above describes (a bug, a dropped connection)
  invalid_task: 'dead-letter',
  /**
   * The job's stored spec no longer matches the job contract (its row changed by hand, or a
   * contract tightened since admission): the dispatcher fails its tasks instead of publishing them.
   */
  invalid_job: 'fail',
  internal_error: 'retry',
} as const satisfies Record<string, ItemErrorDecision>;

export type ItemErrorCode = keyof typeof itemErrorCodes;

export function isItemErrorCode(value: unknown): value is ItemErrorCode {
  return typeof value === 'string' && Object.hasOwn(itemErrorCodes, value);
}

/** Longest error message an item carries (result event, task row, dead-letter header). */
export const itemErrorMessageMax = 2000;

/** A message as an item may carry it: storable in PostgreSQL, and cut to the contract's length. */
export function itemErrorMessage(message: string): string {
  return storableText(message).text.slice(0, itemErrorMessageMax);
}
