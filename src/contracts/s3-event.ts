import { z } from 'zod';

// S3 event notifications as the storage system publishes them to `<prefix>.events` (DESIGN §3.2):
// MinIO's AMQP target (top-level EventName and Key beside Records, eventSource "minio:s3",
// eventVersion 2.0) and AWS S3 (eventSource "aws:s3", eventVersion 2.1+). Loose objects: both add
// fields over time, and only the ones below are read. Keys arrive URL-query-escaped ("a%2Fb+c.jpg").

export const s3EventSources = ['minio:s3', 'aws:s3'] as const;

export const s3EventRecordSchema = z.looseObject({
  eventVersion: z.string().regex(/^2\.\d+$/, 'eventVersion must be 2.x'),
  eventSource: z.enum(s3EventSources),
  eventTime: z.string().max(64).optional(),
  eventName: z
    .string()
    .min(1)
    .max(128)
    .describe('ObjectCreated:Put (AWS) or s3:ObjectCreated:Put (MinIO); only ObjectCreated:* act'),
  s3: z.looseObject({
    bucket: z.looseObject({ name: z.string().min(1).max(255) }),
    object: z.looseObject({
      key: z.string().min(1).max(4096).describe('URL-query-escaped object key'),
      size: z.number().int().min(0).optional(),
      eTag: z.string().max(200).optional(),
      versionId: z.string().max(1024).optional(),
      sequencer: z.string().max(200).optional(),
    }),
  }),
});

export const s3EventMessageSchema = z.looseObject({
  /** MinIO only: the event name and "bucket/escaped key" of the first record. */
  EventName: z.string().optional(),
  Key: z.string().optional(),
  Records: z.array(z.unknown()).min(1).max(1000),
});

/** What AWS sends once when a notification is configured; carries no object. */
export const s3TestEventSchema = z.looseObject({
  Service: z.literal('Amazon S3'),
  Event: z.literal('s3:TestEvent'),
});

export type S3EventRecord = z.output<typeof s3EventRecordSchema>;
