import { optionalVariable, section, variable } from './define.js';
import { flag, oneOf, text, url } from './parsers.js';

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
      doc: 'When the SDK adds request checksums: when_required (default for custom endpoints, which mishandle aws-chunked uploads) or when_supported (default for AWS).',
      expected: 'when_required or when_supported',
      schema: oneOf(['when_required', 'when_supported']),
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
  }),
);
