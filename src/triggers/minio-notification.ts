import {
  CloudFunctionConfig,
  Client as MinioClient,
  NotificationConfig,
  ObjectCreatedAll,
  QueueConfig,
  TopicConfig,
} from 'minio';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';

// Wires a MinIO bucket's notification to our events exchange for one trigger rule, with the
// `minio` client. PUT ?notification REPLACES the bucket's whole configuration, so we read it
// first, keep every entry that is not this rule's, and write the merged result.

export interface RuleNotification {
  readonly ruleId: string;
  readonly bucket: string;
  /** The MinIO notify_amqp target, e.g. arn:minio:sqs::clearcut:amqp */
  readonly arn: string;
  readonly prefix: string;
  readonly suffixes: readonly string[];
}

type Entry = { Id: string; Event: string[]; Filter: { Name: string; Value: string }[] };
type Existing = Awaited<ReturnType<MinioClient['getBucketNotification']>>;

/** Ids of this rule's entries: one per suffix, since an S3 filter holds one suffix rule. */
const entryIdPrefix = (ruleId: string) => `clearcut-trigger-${ruleId}-`;

export function minioClient(storage: Config['storage']): MinioClient {
  if (storage.endpoint === undefined || storage.credentials === undefined) {
    throw new UsageError(
      '--minio-arn needs the MinIO endpoint and credentials: set CLEARCUT_S3_ENDPOINT, CLEARCUT_S3_ACCESS_KEY_ID and CLEARCUT_S3_SECRET_ACCESS_KEY',
    );
  }
  const url = new URL(storage.endpoint);
  const useSSL = url.protocol === 'https:';
  return new MinioClient({
    endPoint: url.hostname,
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    accessKey: storage.credentials.accessKeyId,
    secretKey: storage.credentials.secretAccessKey,
    region: storage.region,
    pathStyle: storage.forcePathStyle,
  });
}

/** Adds (or replaces) the rule's queue entries in the bucket's notification configuration. */
export async function addRuleNotification(client: MinioClient, rule: RuleNotification): Promise<void> {
  const existing = await client.getBucketNotification(rule.bucket);
  const merged = withoutRule(existing, rule.ruleId);
  const suffixes = rule.suffixes.length === 0 ? [undefined] : rule.suffixes;
  suffixes.forEach((suffix, index) => {
    const target = new QueueConfig(rule.arn);
    target.setId(`${entryIdPrefix(rule.ruleId)}${index}`);
    target.addEvent(ObjectCreatedAll);
    if (rule.prefix !== '') target.addFilterPrefix(rule.prefix);
    if (suffix !== undefined) target.addFilterSuffix(suffix);
    merged.add(target);
  });
  await client.setBucketNotification(rule.bucket, merged);
}

/** Removes the rule's entries, keeping everything else the bucket had. */
export async function removeRuleNotification(client: MinioClient, bucket: string, ruleId: string) {
  const existing = await client.getBucketNotification(bucket);
  await client.setBucketNotification(bucket, withoutRule(existing, ruleId));
}

function withoutRule(existing: Existing, ruleId: string): NotificationConfig {
  const config = new NotificationConfig();
  const keep = (entry: Entry) => !entry.Id.startsWith(entryIdPrefix(ruleId));
  const copy = (target: QueueConfig | TopicConfig | CloudFunctionConfig, entry: Entry) => {
    if (entry.Id) target.setId(entry.Id);
    for (const event of entry.Event) target.addEvent(event);
    for (const rule of entry.Filter) {
      if (rule.Name.toLowerCase() === 'prefix') target.addFilterPrefix(rule.Value);
      else if (rule.Name.toLowerCase() === 'suffix') target.addFilterSuffix(rule.Value);
    }
    config.add(target);
  };
  for (const entry of existing.QueueConfiguration.filter(keep)) copy(new QueueConfig(entry.Queue), entry);
  for (const entry of existing.TopicConfiguration.filter(keep)) copy(new TopicConfig(entry.Topic), entry);
  for (const entry of existing.CloudFunctionConfiguration.filter(keep)) {
    copy(new CloudFunctionConfig(entry.CloudFunction), entry);
  }
  return config;
}
