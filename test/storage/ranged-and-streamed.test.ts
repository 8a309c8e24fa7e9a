import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minPartBytes } from '../../src/storage/s3-multipart-upload.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// Ranged reads (a long manifest resumed at a byte offset) and streamed multipart writes (a results
// manifest larger than one part), over real HTTP to the embedded S3 server.

let s3: TestS3;
let bucket: string;

beforeAll(async () => {
  s3 = await startTestS3();
  bucket = await s3.createBucket('ranged-streamed');
});
afterAll(() => s3?.stop());

async function readAll(key: string, offset?: number): Promise<Buffer> {
  const { body } = await s3.store.openRead(bucket, key, { maxBytes: 64 * minPartBytes, offset });
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `total` bytes of `source`, handed over in chunks of `chunk` bytes as a finaliser would. */
async function* chunksOf(source: Buffer, chunk: number) {
  for (let at = 0; at < source.length; at += chunk) yield source.subarray(at, at + chunk);
}

describe('ranged reads', () => {
  it('reads from a byte offset to the end; at or past the end it reads nothing', async () => {
    const body = randomBytes(100_000);
    await s3.store.put(bucket, 'ranged/object.bin', body, { contentType: 'application/octet-stream' });
    expect((await readAll('ranged/object.bin', 0)).equals(body)).toBe(true);
    expect((await readAll('ranged/object.bin', 65_537)).equals(body.subarray(65_537))).toBe(true);
    expect(await readAll('ranged/object.bin', body.length)).toHaveLength(0);
    expect(await readAll('ranged/object.bin', body.length + 10)).toHaveLength(0);
  });
});

describe('streamed writes', () => {
  it('uploads a body larger than a part in parts, each held alone, and the object is byte-exact', async () => {
    const body = randomBytes(2 * minPartBytes + 12_345);
    const written = await s3.store.putStream(bucket, 'streamed/big.jsonl', chunksOf(body, 64 * 1024), {
      contentType: 'application/x-ndjson',
    });
    expect(written.parts).toBe(3);
    expect((await readAll('streamed/big.jsonl')).equals(body)).toBe(true);
    expect((await s3.store.head(bucket, 'streamed/big.jsonl'))?.contentType).toBe('application/x-ndjson');
  });

  it('sends a body that fits in one part as one PUT, also an empty one', async () => {
    const small = randomBytes(1000);
    expect(
      await s3.store.putStream(bucket, 'streamed/small', chunksOf(small, 100), { contentType: 'text/plain' }),
    ).toMatchObject({ parts: 1 });
    expect((await readAll('streamed/small')).equals(small)).toBe(true);
    await s3.store.putStream(bucket, 'streamed/empty', chunksOf(Buffer.alloc(0), 1), {
      contentType: 'text/plain',
    });
    expect(await readAll('streamed/empty')).toHaveLength(0);
  });

  it('leaves no object when the body fails after some parts were sent', async () => {
    async function* failing() {
      yield randomBytes(minPartBytes + 1);
      throw new Error('the database went away');
    }
    await expect(
      s3.store.putStream(bucket, 'streamed/failed', failing(), { contentType: 'text/plain' }),
    ).rejects.toThrow('the database went away');
    expect(await s3.store.head(bucket, 'streamed/failed')).toBeUndefined();
  });
});
