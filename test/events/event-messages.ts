import type { TestBroker } from '../support/broker.js';

// S3 event notification bodies exactly as MinIO's AMQP target and AWS S3 publish them.

export interface ObjectVersion {
  readonly bucket: string;
  /** The key as stored; the builders escape it the way the storage system does. */
  readonly key: string;
  readonly eTag?: string;
  readonly size?: number;
}

/** URL-query escaping, as MinIO and AWS apply to keys in events: "/" → %2F, " " → "+". */
export function escapeKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

function record(source: 'minio:s3' | 'aws:s3', eventName: string, object: ObjectVersion, sequencer: string) {
  return {
    eventVersion: source === 'minio:s3' ? '2.0' : '2.1',
    eventSource: source,
    awsRegion: source === 'minio:s3' ? '' : 'us-east-1',
    eventTime: '2026-11-29T10:00:00.000Z',
    eventName,
    userIdentity: { principalId: 'storage' },
    requestParameters: { sourceIPAddress: '10.0.0.7' },
    responseElements: { 'x-amz-request-id': '17A0B1C2D3E4F5' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'Config',
      bucket: {
        name: object.bucket,
        ownerIdentity: { principalId: 'storage' },
        arn: `arn:aws:s3:::${object.bucket}`,
      },
      object: {
        key: escapeKey(object.key),
        size: object.size ?? 1234,
        eTag: object.eTag ?? 'd41d8cd98f00b204e9800998ecf8427e',
        contentType: 'image/jpeg',
        sequencer,
      },
    },
  };
}

let sequence = 0x17a00000;
const nextSequencer = () => (sequence++).toString(16).toUpperCase();

/** MinIO: EventName and Key beside Records; event names carry the "s3:" prefix. */
export function minioEvent(object: ObjectVersion, eventName = 's3:ObjectCreated:Put') {
  return {
    EventName: eventName,
    Key: `${object.bucket}/${escapeKey(object.key)}`,
    Records: [record('minio:s3', eventName, object, nextSequencer())],
  };
}

/** AWS: only Records; event names without the prefix. */
export function awsEvent(objects: readonly ObjectVersion[], eventName = 'ObjectCreated:Put') {
  return { Records: objects.map((object) => record('aws:s3', eventName, object, nextSequencer())) };
}

/**
 * Publishes S3 event bodies to the events exchange, as the storage system's AMQP target does; a
 * string is sent as it is (for bodies that are not JSON).
 */
export async function publishEvents(broker: TestBroker, bodies: readonly (object | string)[]): Promise<void> {
  const publisher = await broker.bus.publisher();
  try {
    await publisher.publish(
      bodies.map((body) => ({
        exchange: broker.names.eventsExchange,
        routingKey: 'bucketevents',
        body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
      })),
    );
  } finally {
    await publisher.close();
  }
}
