import { z } from 'zod';
import { bucketNameProblem, objectPrefixProblem } from '../contracts/object-keys.js';
import { optionalVariable, type ParsedVariables, variable } from './define.js';
import { byteSize, duration, wholeNumber } from './parsers.js';

// POST /v1/remove (docs/api.md): where uploads are staged, how long the call waits for the worker,
// the largest upload, and how many calls one API process holds at once. Part of the api section
// (src/config/api.ts), as `config.api.remove`.

const maxWaitMs = 60_000;

export const removeVariables = {
  CLEARCUT_API_STAGING_BUCKET: optionalVariable({
    doc: 'Bucket where POST /v1/remove stages each upload and its worker writes the rendition, under `<prefix><tenant>/<job id>/`; each tenant needs read and write grants on `<prefix><tenant>/` there. Unset: POST /v1/remove is off (404). Give the bucket a lifecycle rule that expires the prefix (docs/api.md).',
    expected: 'an S3 bucket name',
    schema: z.string().refine((name) => bucketNameProblem(name) === undefined),
  }),
  CLEARCUT_API_STAGING_PREFIX: variable({
    doc: 'Key prefix of the staged uploads and renditions in CLEARCUT_API_STAGING_BUCKET.',
    expected: 'a key prefix ending in "/", such as remove/',
    default: 'remove/',
    schema: z.string().refine((prefix) => prefix.endsWith('/') && objectPrefixProblem(prefix) === undefined),
  }),
  CLEARCUT_API_REMOVE_WAIT: variable({
    doc: 'Longest POST /v1/remove waits for the worker before it answers 202 with the job id (the job goes on; a retry with the same Idempotency-Key answers the rendition once it exists).',
    expected: `a duration from 0s to ${maxWaitMs / 1000}s, such as 10s`,
    default: '10s',
    schema: duration(0).refine((ms) => ms <= maxWaitMs),
  }),
  CLEARCUT_API_REMOVE_MAX_BYTES: variable({
    doc: 'Largest POST /v1/remove body (the image, or the whole multipart form); larger is 413. The upload is also held to CLEARCUT_MAX_INPUT_BYTES, as the worker holds it.',
    expected: 'a byte size of at least 1KiB, such as 12MiB',
    default: '12MiB',
    schema: byteSize(1024),
  }),
  CLEARCUT_API_REMOVE_CONCURRENCY: variable({
    doc: 'Most POST /v1/remove calls one API process holds at once, from the first byte of the body to the answer; one more is answered 503 busy with Retry-After before its body is read. Each call holds up to CLEARCUT_API_REMOVE_MAX_BYTES until its upload is staged (twice that for a multipart form), so the default of 32 at 12MiB bounds the bodies at about 768MiB.',
    expected: 'a whole number from 1 to 10000, such as 32',
    default: '32',
    schema: wholeNumber(1, 10_000),
  }),
};

export function removeSettings(v: ParsedVariables<typeof removeVariables>) {
  return {
    stagingBucket: v.CLEARCUT_API_STAGING_BUCKET,
    stagingPrefix: v.CLEARCUT_API_STAGING_PREFIX,
    waitMs: v.CLEARCUT_API_REMOVE_WAIT,
    maxBodyBytes: v.CLEARCUT_API_REMOVE_MAX_BYTES,
    concurrency: v.CLEARCUT_API_REMOVE_CONCURRENCY,
  };
}
