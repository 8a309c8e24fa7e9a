import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListedBlob } from '../../src/storage/blob-store.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// Listings over more than one 1,000-key page, through the storage layer and the embedded server.
// The names mix "/", "-" and "." right after a shared stem ("shoes/", "shoes-2024/", "shoes.txt"):
// sorted by S3 (bytes) and by file name these come in different orders, which made plain s3rver
// skip keys at page boundaries.

let s3: TestS3;
let bucket: string;

const underPrefix = [
  ...Array.from({ length: 1000 }, (_, index) => `cat/shoes/${String(index).padStart(4, '0')}.jpg`),
  ...Array.from({ length: 30 }, (_, index) => `cat/shoes-2024/${index}.jpg`),
  'cat/shoes',
  'cat/shoes.txt',
  'cat/shoes-x.jpg',
  'cat/a b/ü.jpg',
  'cat/😀.jpg',
  'cat/\uffef.jpg', // sorts before the emoji in UTF-16, after it in UTF-8
  ...Array.from({ length: 20 }, (_, index) => `cat/z/${index}.png`),
];
const outsidePrefix = ['cat-2024/x.jpg', 'cat.txt', 'cas/1.jpg', 'dog/1.jpg'];
const s3Order = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

beforeAll(async () => {
  s3 = await startTestS3();
  bucket = await s3.createBucket('listing');
  const keys = [...underPrefix, ...outsidePrefix];
  for (let start = 0; start < keys.length; start += 32) {
    await Promise.all(
      keys
        .slice(start, start + 32)
        .map((key) => s3.store.put(bucket, key, Buffer.from(key), { contentType: 'text/plain' })),
    );
  }
}, 180_000);
afterAll(() => s3?.stop());

async function collect(listing: AsyncIterable<ListedBlob>): Promise<ListedBlob[]> {
  const found: ListedBlob[] = [];
  for await (const item of listing) found.push(item);
  return found;
}

describe('list', () => {
  it(`returns all ${underPrefix.length} keys under a prefix, once each, in S3 order, across pages`, async () => {
    const found = await collect(s3.store.list(bucket, 'cat/'));
    expect(underPrefix.length).toBeGreaterThan(1000);
    expect(found.map((item) => item.key)).toEqual(s3Order(underPrefix));
    const shoe = found.find((item) => item.key === 'cat/shoes.txt');
    expect(shoe).toEqual({ key: 'cat/shoes.txt', size: 'cat/shoes.txt'.length, eTag: expect.any(String) });
  });

  it('lists the whole bucket with the empty prefix', async () => {
    const found = await collect(s3.store.list(bucket, ''));
    expect(found.map((item) => item.key)).toEqual(s3Order([...underPrefix, ...outsidePrefix]));
  });

  it('treats the prefix as plain text, not as a folder', async () => {
    const found = await collect(s3.store.list(bucket, 'cat/shoes-'));
    expect(found.map((item) => item.key)).toEqual(
      s3Order(underPrefix.filter((key) => key.startsWith('cat/shoes-'))),
    );
  });

  it('resumes after a given key, even one deep in the second page', async () => {
    const ordered = s3Order(underPrefix);
    for (const index of [0, 999, 1000, ordered.length - 2]) {
      const found = await collect(s3.store.list(bucket, 'cat/', { startAfter: ordered[index] }));
      expect(found.map((item) => item.key)).toEqual(ordered.slice(index + 1));
    }
    expect(await collect(s3.store.list(bucket, 'cat/', { startAfter: ordered.at(-1) }))).toEqual([]);
  });

  it('lists nothing for a prefix no key has', async () => {
    expect(await collect(s3.store.list(bucket, 'cat/none/'))).toEqual([]);
  });

  it('fetches pages only as the caller iterates', async () => {
    const iterator = s3.store.list(bucket, 'cat/')[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ key: s3Order(underPrefix)[0] });
    // Stopping early is allowed and leaves nothing pending.
    expect(await iterator.return?.()).toMatchObject({ done: true });
  });

  it('aborts a listing when the signal fires', async () => {
    const controller = new AbortController();
    const iterator = s3.store.list(bucket, 'cat/', { signal: controller.signal })[Symbol.asyncIterator]();
    for (let index = 0; index < 1000; index += 1) await iterator.next(); // the whole first page
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ name: 'TransientError', code: 'aborted' });
  });
});
