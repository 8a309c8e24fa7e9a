import { createHash } from 'node:crypto';
import { type JobInput, jobContractVersion } from '../contracts/job.js';
import type { ObjectLocation } from '../contracts/locations.js';
import { outputKeyFor } from '../contracts/output-keys.js';
import type { SupportedFormat } from '../images/sniff.js';
import type { RemoveOptions } from './remove-options.js';

// Where a POST /v1/remove job lives in S3: `<prefix><tenant>/<job id>/` in the staging bucket holds
// the upload and the rendition the worker writes. It is an ordinary job on that location, so the
// admission core and the worker check the tenant's grants on it like on any other.

export interface StagingArea {
  readonly bucket: string;
  /** Ends in "/" (CLEARCUT_API_STAGING_PREFIX). */
  readonly prefix: string;
}

export interface StagedJob {
  /** The job body as admitted: the idempotency digest covers it, and so the upload's SHA-256. */
  readonly body: Buffer;
  readonly upload: ObjectLocation;
  readonly rendition: ObjectLocation;
}

const extensions: Record<SupportedFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp' };
const outputKeyTemplate = '{name}.{rendition}.{ext}';

/** The tenant's part of the staging area: its grants must cover it (docs/api.md). */
export function tenantStagingPrefix(area: StagingArea, tenantId: string): string {
  return `${area.prefix}${tenantId}/`;
}

/**
 * The job for one upload. The upload's key holds its SHA-256: a retry under the same job id with
 * other bytes (or other options) is another body, a duplicate, never a silent swap of the image.
 */
export function stagedJob(
  area: StagingArea,
  upload: {
    readonly tenantId: string;
    readonly jobId: string;
    readonly image: Buffer;
    readonly format: SupportedFormat;
  },
  options: RemoveOptions,
): StagedJob {
  const prefix = `${tenantStagingPrefix(area, upload.tenantId)}${upload.jobId}/`;
  const digest = createHash('sha256').update(upload.image).digest('hex');
  const uploadKey = `${prefix}upload-${digest}.${extensions[upload.format]}`;
  const job: JobInput = {
    version: jobContractVersion,
    input: { bucket: area.bucket, key: uploadKey },
    output: { bucket: area.bucket, prefix },
    renditions: [options.rendition],
    ...(options.model === undefined ? {} : { model: options.model }),
    priority: 'high',
    outputKeyTemplate,
  };
  return {
    body: Buffer.from(JSON.stringify(job)),
    upload: { bucket: area.bucket, key: uploadKey },
    rendition: {
      bucket: area.bucket,
      key: outputKeyFor({
        prefix,
        template: outputKeyTemplate,
        sourceKey: uploadKey,
        rendition: options.parsed,
      }),
    },
  };
}
