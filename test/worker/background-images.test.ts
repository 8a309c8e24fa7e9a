import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TaskInput, taskSchema } from '../../src/contracts/task.js';
import type { ImageLimits } from '../../src/images/decode.js';
import type { Grant } from '../../src/policy/grants.js';
import { fetchBackgroundImages } from '../../src/worker/background-images.js';
import { startTestS3, type TestS3 } from '../support/s3.js';

// The worker's fetch of background images from a real (embedded) S3 server: what fails the item,
// under which code, and how large each image is decoded.

let s3: TestS3;
let assets: string;
let source: Buffer;
const limits: ImageLimits = { maxInputBytes: 5_000_000, maxInputPixels: 50_000_000, decodeTimeoutMs: 30_000 };

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 100 } } })
    .png()
    .toBuffer();

beforeAll(async () => {
  s3 = await startTestS3();
  assets = await s3.createBucket('assets');
  source = await png(64, 48);
  await s3.store.put(assets, 'floor.png', await png(600, 400), { contentType: 'image/png' });
  // Stored 600×400, shown 400×600 (EXIF orientation 6: a quarter turn).
  const turned = await sharp(await png(600, 400))
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer();
  await s3.store.put(assets, 'turned.jpg', turned, { contentType: 'image/jpeg' });
}, 60_000);
afterAll(async () => s3?.stop());

function task(renditions: TaskInput['renditions']) {
  return taskSchema.parse({
    version: 1,
    taskId: '1',
    tenant: 'acme',
    jobId: 'job-1',
    item: 0,
    keyId: 'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd',
    source: { bucket: 'catalog', key: 'shoes/red.png' },
    output: { bucket: 'cutouts', prefix: '' },
    renditions,
    model: 'u2netp',
    attempt: 1,
    createdAt: new Date().toISOString(),
  });
}

const readAll = (): Grant[] => [{ bucket: assets, prefix: '', access: 'read' }];
interface FetchOptions {
  grants?: Grant[];
  limits?: ImageLimits;
  source?: Buffer;
}
/** The task's background images, with every read granted and a 64×48 PNG source unless told. */
const fetchAll = (renditions: TaskInput['renditions'], options: FetchOptions = {}) =>
  fetchBackgroundImages(
    task(renditions),
    options.grants ?? readAll(),
    s3.store,
    options.limits ?? limits,
    options.source ?? source,
  );
const fetchFor = (background: string, options: FetchOptions = {}) =>
  fetchAll([{ kind: 'background', background }], options);

describe('a background that cannot be used fails the item with invalid_background, naming it', () => {
  it('when the object does not exist', async () => {
    const url = `s3://${assets}/gone.png`;
    await expect(fetchFor(url)).rejects.toMatchObject({
      name: 'PermanentError',
      code: 'invalid_background',
      message: expect.stringMatching(new RegExp(`^the background ${url}: .*no such object`)),
    });
  });

  // Limits the 64×48 source passes and the 600×400 background does not.
  it('when it is over the input byte limit', async () => {
    const url = `s3://${assets}/floor.png`;
    const maxInputBytes = source.length;
    await expect(fetchFor(url, { limits: { ...limits, maxInputBytes } })).rejects.toMatchObject({
      code: 'invalid_background',
      message: expect.stringMatching(
        new RegExp(`^the background ${url}: .*the limit is ${maxInputBytes} bytes`),
      ),
    });
  });

  it('when it has more pixels than a source may have', async () => {
    const url = `s3://${assets}/floor.png`;
    await expect(fetchFor(url, { limits: { ...limits, maxInputPixels: 64 * 48 } })).rejects.toMatchObject({
      code: 'invalid_background',
      message: expect.stringMatching(new RegExp(`^the background ${url}: The image is 600×400`)),
    });
  });
});

it('checks the read grant again itself (revoked since admission): access_denied, naming the background', async () => {
  const url = `s3://${assets}/floor.png`;
  const grants: Grant[] = [{ bucket: assets, prefix: 'other/', access: 'read' }];
  await expect(fetchFor(url, { grants })).rejects.toMatchObject({
    code: 'access_denied',
    message: `tenant acme has no read grant on the background ${url}`,
  });
});

it('refuses an unusable source with its own code before fetching any background', async () => {
  const fetching = fetchFor(`s3://${assets}/gone.png`, { source: Buffer.from('not an image') });
  await expect(fetching).rejects.toMatchObject({ code: 'unsupported_format' });
});

it('decodes each background only as large as it takes to cover the largest output drawn on it', async () => {
  const url = `s3://${assets}/floor.png`;
  // On the 64×48 source frame: 600×400 scaled by max(64/600, 48/400) = 0.12 → 72×48.
  const onFrame = await fetchFor(url);
  expect(onFrame.get(url)).toMatchObject({ width: 72, height: 48, channels: 3 });
  // Upright: 400×600 scaled by max(64/400, 48/600) = 0.16 → 64×96.
  const turned = `s3://${assets}/turned.jpg`;
  expect((await fetchFor(turned)).get(turned)).toMatchObject({ width: 64, height: 96 });
  // A 300×100 canvas needs more (0.5 → 300×200) and wins; a canvas larger than the image never enlarges it.
  const renditions = (canvas: { width: number; height: number }): TaskInput['renditions'] => [
    { kind: 'background', background: url },
    { kind: 'background', background: url, format: 'webp', canvas: { ...canvas, fill: 0.8 } },
  ];
  const both = await fetchAll(renditions({ width: 300, height: 100 }));
  expect(both.get(url)).toMatchObject({ width: 300, height: 200 });
  const large = await fetchAll(renditions({ width: 1200, height: 300 }));
  expect(large.get(url)).toMatchObject({ width: 600, height: 400 });
});
