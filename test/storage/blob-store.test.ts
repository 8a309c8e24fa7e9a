import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3BlobStore } from '../../src/storage/s3-blob-store.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// Real HTTP to the embedded S3 server through the storage layer the workers use.

const MiB = 1024 * 1024;
let s3: TestS3;
let bucket: string;

beforeAll(async () => {
  s3 = await startTestS3();
  bucket = await s3.createBucket('blob-store');
});
afterAll(() => s3?.stop());

const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

const refusal = (name: string, code: string, message = '') => ({
  name,
  code,
  message: expect.stringContaining(message),
});

describe('put and get', () => {
  it.each([0, 1, 64 * 1024 - 1, MiB + 7, 8 * MiB])('round-trips %i bytes exactly', async (size) => {
    const body = randomBytes(size);
    const key = `round-trip/${size}.bin`;
    const { eTag } = await s3.store.put(bucket, key, body, { contentType: 'application/octet-stream' });
    const blob = await s3.store.get(bucket, key, { maxBytes: size });
    expect(blob.body.equals(body)).toBe(true);
    expect(blob.size).toBe(size);
    expect(eTag).toBe(md5(body));
    expect(blob.eTag).toBe(eTag);
  });

  it('reads every write back at once, byte-exact, also when overwriting with a different size', async () => {
    const sizes = [1024, 300 * 1024, 2 * MiB + 3];
    for (let round = 0; round < 45; round += 1) {
      const body = randomBytes(sizes[round % sizes.length]!);
      const key = `read-after-write/${round % 4}`;
      await s3.store.put(bucket, key, body, { contentType: 'application/octet-stream' });
      const blob = await s3.store.get(bucket, key, { maxBytes: 4 * MiB });
      expect({ round, size: blob.body.length, same: blob.body.equals(body) }).toEqual({
        round,
        size: body.length,
        same: true,
      });
    }
  });

  it('keeps the content type and user metadata, for get and head', async () => {
    const metadata = { 'source-etag': 'abc123', model: 'u2netp', 'model-sha256': 'f'.repeat(64) };
    await s3.store.put(bucket, 'meta/cutout.png', Buffer.from('png'), { contentType: 'image/png', metadata });
    const blob = await s3.store.get(bucket, 'meta/cutout.png', { maxBytes: 100 });
    expect(blob.contentType).toBe('image/png');
    expect(blob.metadata).toEqual(metadata);
    expect(await s3.store.head(bucket, 'meta/cutout.png')).toEqual({
      size: 3,
      eTag: md5(Buffer.from('png')),
      contentType: 'image/png',
      metadata,
    });
  });

  it('streams an object piece by piece with openRead', async () => {
    const body = randomBytes(3 * MiB);
    await s3.store.put(bucket, 'stream/big.bin', body, { contentType: 'application/octet-stream' });
    const stream = await s3.store.openRead(bucket, 'stream/big.bin', { maxBytes: 3 * MiB });
    const chunks: Buffer[] = [];
    for await (const chunk of stream.body) chunks.push(chunk as Buffer);
    expect(stream.size).toBe(body.length);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('refuses metadata S3 cannot carry, before sending anything', async () => {
    const refused: Record<string, string>[] = [
      { Source_Etag: 'x' },
      { note: 'café' },
      { big: 'x'.repeat(2100) },
    ];
    for (const metadata of refused) {
      await expect(
        s3.store.put(bucket, 'meta/bad', Buffer.from('x'), { contentType: 'text/plain', metadata }),
      ).rejects.toMatchObject(refusal('PermanentError', 'invalid_metadata'));
    }
    expect(await s3.store.head(bucket, 'meta/bad')).toBeUndefined();
  });
});

describe('download cap', () => {
  it('refuses an object over maxBytes as too_large and accepts one exactly at it', async () => {
    const body = randomBytes(2 * MiB);
    await s3.store.put(bucket, 'cap/two-mib.bin', body, { contentType: 'application/octet-stream' });
    await expect(s3.store.get(bucket, 'cap/two-mib.bin', { maxBytes: 2 * MiB - 1 })).rejects.toMatchObject(
      refusal('PermanentError', 'too_large', `the object is ${2 * MiB} bytes; the limit is ${2 * MiB - 1}`),
    );
    const blob = await s3.store.get(bucket, 'cap/two-mib.bin', { maxBytes: 2 * MiB });
    expect(blob.body.equals(body)).toBe(true);
  });
});

describe('missing objects and buckets', () => {
  it('fails get with not_found for a missing key, and head answers undefined', async () => {
    await expect(s3.store.get(bucket, 'missing/key.jpg', { maxBytes: 10 })).rejects.toMatchObject(
      refusal('PermanentError', 'not_found', `GET s3://${bucket}/missing/key.jpg: no such object`),
    );
    expect(await s3.store.head(bucket, 'missing/key.jpg')).toBeUndefined();
  });

  it('fails get, put and list with not_found naming a missing bucket', async () => {
    const calls = [
      () => s3.store.get('no-such-bucket-here', 'a.jpg', { maxBytes: 10 }),
      () => s3.store.put('no-such-bucket-here', 'a.jpg', Buffer.from('x'), { contentType: 'image/jpeg' }),
      () => s3.store.list('no-such-bucket-here', '')[Symbol.asyncIterator]().next(),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject(
        refusal('PermanentError', 'not_found', 'bucket "no-such-bucket-here" does not exist'),
      );
    }
  });

  it('creates a bucket only once and accepts being asked again', async () => {
    const name = await s3.createBucket('twice');
    await expect(s3.store.createBucket(name)).resolves.toBeUndefined();
    await s3.store.put(name, 'k', Buffer.from('still here'), { contentType: 'text/plain' });
    await s3.store.createBucket(name);
    expect((await s3.store.get(name, 'k', { maxBytes: 100 })).body.toString()).toBe('still here');
  });
});

describe('location checks', () => {
  const badKeys = [
    '../etc/passwd',
    'a/../b.jpg',
    'a/./b.jpg',
    'tab\there.jpg',
    'nul\u0000.jpg',
    '/absolute.jpg',
    '',
  ];

  it.each(badKeys)('refuses the key %j for get, put and head with invalid_location', async (key) => {
    const calls = [
      () => s3.store.get(bucket, key, { maxBytes: 10 }),
      () => s3.store.put(bucket, key, Buffer.from('x'), { contentType: 'text/plain' }),
      () => s3.store.head(bucket, key),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject(refusal('PermanentError', 'invalid_location', 'key'));
    }
  });

  it('refuses bad bucket names and listing prefixes, naming the problem', async () => {
    await expect(s3.store.get('Bad_Bucket', 'a.jpg', { maxBytes: 10 })).rejects.toMatchObject(
      refusal(
        'PermanentError',
        'invalid_location',
        'bucket name "Bad_Bucket" may contain only lowercase letters',
      ),
    );
    const listing = s3.store.list(bucket, 'photos/../secrets/')[Symbol.asyncIterator]().next();
    await expect(listing).rejects.toMatchObject(
      refusal('PermanentError', 'invalid_location', 'prefix "photos/../secrets/" must not contain'),
    );
  });

  it('checks before any request is made: a refused key never reaches an unreachable server', async () => {
    const offline = createS3BlobStore({ ...s3.config, endpoint: 'http://127.0.0.1:9' });
    try {
      await expect(offline.get(bucket, 'a/../b', { maxBytes: 10 })).rejects.toMatchObject(
        refusal('PermanentError', 'invalid_location'),
      );
      await expect(offline.get(bucket, 'a/b', { maxBytes: 10 })).rejects.toMatchObject(
        refusal('TransientError', 'storage_unavailable'),
      );
    } finally {
      offline.close();
    }
  });
});
