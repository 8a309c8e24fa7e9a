import sharp from 'sharp';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';

// Where both trigger end-to-end tests start (the AMQP event door's and EventBridge's): a tenant's
// bucket on the embedded S3 server and a rule that cuts out its .png uploads into the SAME bucket
// under cutouts/, so the events of the outputs must change nothing (loop protection).

export interface TriggerPipeline {
  readonly p: PipelineHarness;
  readonly bucket: string;
  readonly tenant: string;
  /** Stores a 64×64 PNG of one colour under `key`; its bucket, key and eTag, as an event names them. */
  readonly upload: (key: string, shade: number) => Promise<{ bucket: string; key: string; eTag: string }>;
}

export async function createTriggerPipeline(name: string): Promise<TriggerPipeline> {
  const p = await createPipelineHarness(name);
  let bucket: string;
  let tenant: string;
  try {
    bucket = await p.s3.createBucket('photos');
    tenant = (await p.tenant(bucket, bucket)).tenantId;
    await addTrigger(p.h.db, {
      tenantId: tenant,
      bucket,
      prefix: '',
      suffixes: ['.png'],
      output: { bucket, prefix: 'cutouts/' },
      renditions: [{ kind: 'cutout', format: 'png' }],
      model: 'u2netp',
    });
  } catch (error) {
    await p.dispose(); // the caller never gets it to dispose
    throw error;
  }
  async function upload(key: string, shade: number) {
    const png = await sharp({
      create: { width: 64, height: 64, channels: 3, background: { r: shade, g: 90, b: 40 } },
    })
      .png()
      .toBuffer();
    const { eTag } = await p.s3.store.put(bucket, key, png, { contentType: 'image/png' });
    return { bucket, key, eTag };
  }
  return { p, bucket, tenant, upload };
}
