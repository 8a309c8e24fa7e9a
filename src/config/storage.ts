import { optionalVariable, section, variable } from './define.js';
import { duration, flag, oneOf, text, url, wholeNumber } from './parsers.js';

export const storageSection = section(
  {
    CLEARCUT_S3_ENDPOINT: optionalVariable({
      doc: 'S3-protocol endpoint URL (MinIO, Ceph, ...); unset means AWS S3.',
      expected: 'an http:// or https:// URL',
      schema: url(['http', 'https']),
    }),
    CLEARCUT_S3_REGION: variable({
      doc: 'S3 region.',
      expected: 'a region name such as us-east-1',
      default: 'us-east-1',
      schema: text(64),
    }),
    CLEARCUT_S3_FORCE_PATH_STYLE: optionalVariable({
      doc: 'Address buckets as path segments instead of host names; defaults to true when CLEARCUT_S3_ENDPOINT is set.',
      expected: 'true or false',
      schema: flag(),
    }),
    CLEARCUT_S3_ACCESS_KEY_ID: optionalVariable({
      doc: "S3 access key id; unset means the AWS SDK's default credential chain.",
      expected: 'an access key id',
      schema: text(256),
    }),
    CLEARCUT_S3_SECRET_ACCESS_KEY: optionalVariable({
      doc: 'S3 secret access key (with CLEARCUT_S3_ACCESS_KEY_ID).',
      expected: 'a secret access key',
      secret: true,
      schema: text(256),
    }),
    CLEARCUT_S3_CHECKSUM: optionalVariable({
      doc: 'When the SDK adds request checksums and validates response checksums: when_required (default for custom endpoints, which mishandle aws-chunked uploads) or when_supported (default for AWS).',
      expected: 'when_required or when_supported',
      schema: oneOf(['when_required', 'when_supported']),
    }),
    CLEARCUT_S3_TIMEOUT: variable({
      doc: 'Longest an S3 connection may stay silent (connecting, awaiting the response, or mid-transfer) before the request fails as a transient error and is retried later.',
      expected: 'a duration such as 30s or 2m (at least 100ms)',
      default: '30s',
      schema: duration(100),
    }),
    CLEARCUT_S3_MAX_ATTEMPTS: variable({
      doc: 'Attempts the AWS SDK makes per S3 request before giving up; keep it small, the task queue retries with backoff.',
      expected: 'a whole number from 1 to 10',
      default: '2',
      schema: wholeNumber(1, 10),
    }),
  },
  (v) => ({
    endpoint: v.CLEARCUT_S3_ENDPOINT,
    region: v.CLEARCUT_S3_REGION,
    forcePathStyle: v.CLEARCUT_S3_FORCE_PATH_STYLE ?? v.CLEARCUT_S3_ENDPOINT !== undefined,
    credentials:
      v.CLEARCUT_S3_ACCESS_KEY_ID && v.CLEARCUT_S3_SECRET_ACCESS_KEY
        ? { accessKeyId: v.CLEARCUT_S3_ACCESS_KEY_ID, secretAccessKey: v.CLEARCUT_S3_SECRET_ACCESS_KEY }
        : undefined,
    checksum: v.CLEARCUT_S3_CHECKSUM ?? (v.CLEARCUT_S3_ENDPOINT ? 'when_required' : 'when_supported'),
    timeoutMs: v.CLEARCUT_S3_TIMEOUT,
    maxAttempts: v.CLEARCUT_S3_MAX_ATTEMPTS,
  }),
  (v) =>
    (v.CLEARCUT_S3_ACCESS_KEY_ID === undefined) === (v.CLEARCUT_S3_SECRET_ACCESS_KEY === undefined)
      ? []
      : [
          'CLEARCUT_S3_ACCESS_KEY_ID and CLEARCUT_S3_SECRET_ACCESS_KEY go together: set both, or neither to use the AWS default credential chain.',
        ],
);
