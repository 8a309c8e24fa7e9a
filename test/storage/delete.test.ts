import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestS3, type TestS3 } from '../support/s3.js';

// BlobStore.delete over real HTTP to the embedded S3 server (POST /v1/remove withdraws refused
// uploads with it).

let s3: TestS3;
let bucket: string;

beforeAll(async () => {
  s3 = await startTestS3();
  bucket = await s3.createBucket('delete');
});
afterAll(() => s3?.stop());

describe('delete', () => {
  it('removes the object and leaves its neighbours; an absent object deletes fine', async () => {
    for (const key of ['staging/a.png', 'staging/b.png']) {
      await s3.store.put(bucket, key, Buffer.from(key), { contentType: 'image/png' });
    }
    await s3.store.delete(bucket, 'staging/a.png');
    expect(await s3.store.head(bucket, 'staging/a.png')).toBeUndefined();
    expect(await s3.store.head(bucket, 'staging/b.png')).toMatchObject({ size: 13 });
    await s3.store.delete(bucket, 'staging/a.png');
  });

  it('refuses a key no S3 object can have before sending anything', async () => {
    await expect(s3.store.delete(bucket, '../escape')).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'invalid_location',
    });
  });
});
