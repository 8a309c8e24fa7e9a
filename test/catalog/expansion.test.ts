import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimExpandingJob } from '../../src/catalog/expansion-store.js';
import type { BlobStore } from '../../src/storage/blob-store.js';
import { type CatalogHarness, createCatalogHarness } from './support.js';

let h: CatalogHarness;
let bucket: string;
const output = { bucket: 'out-bucket', prefix: 'cut/' };

beforeAll(async () => {
  h = await createCatalogHarness('catalog expansion');
  bucket = await h.s3.createBucket('catalog');
}, 60_000);
afterAll(async () => h?.dispose());

const readable = (prefix = '') => [{ bucket, prefix, access: 'read' as const }];
const manifest = async (key: string, text: string) => {
  await h.s3.store.put(bucket, key, Buffer.from(text), { contentType: 'text/plain' });
  return { manifest: { bucket, key } };
};

describe('prefix inputs', () => {
  it('lists more than 1,000 keys across S3 pages into exactly one task per key', async () => {
    const keys = Array.from({ length: 1_203 }, (_, i) => `big/${String(i).padStart(5, '0')}.jpg`);
    await h.putObjects(bucket, [...keys, 'bigger/not-me.jpg']);
    await h.putObjects(bucket, ['big/folder/'], Buffer.alloc(0)); // a console's folder marker
    const tenant = await h.tenant({ grants: readable('big/') });
    const jobId = await h.job(tenant, { bucket, prefix: 'big/' }, output);

    const pages = await h.expand({ pageSize: 500 });

    expect(pages.length).toBeGreaterThanOrEqual(3);
    const tasks = await h.tasks(tenant, jobId);
    expect(tasks.map((t) => t.key)).toEqual(keys);
    expect(tasks.map((t) => t.item)).toEqual(keys.map((_, i) => i));
    const job = await h.jobRow(tenant, jobId);
    expect(job).toMatchObject({ state: 'running', total: 1_203, images_reserved: 1_203, skipped: 0 });
    const [dispatch] = await h.db.query('SELECT pending FROM tenant_dispatch WHERE tenant_id = $1', [tenant]);
    expect(dispatch).toEqual({ pending: 1_203 });
  }, 120_000);

  it('an empty prefix completes the job at once with no tasks', async () => {
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, { bucket, prefix: 'nothing-here/' }, output);
    await h.expand();
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'completed', total: 0 });
  });
});

describe('manifest inputs', () => {
  it('reads JSONL: objects, strings, plain keys, blank lines; reports bad lines and duplicates per line', async () => {
    const input = await manifest(
      'm/items.jsonl',
      [
        '{"key": "shop/a.jpg"}',
        '"shop/b.jpg"',
        'shop/c.jpg',
        '',
        '{"key": "shop/a.jpg"}',
        '{"key": 42}',
        '{not json',
        '{"key": "shop/../etc/passwd"}',
        '{"bucket": "other-bucket", "key": "x.jpg"}',
        '{"key": "cut/feedback.png"}',
        `${'y'.repeat(9000)}`,
        '{"key": "shop/d.jpg", "sku": 7}\r',
      ].join('\n'),
    );
    const tenant = await h.tenant({ grants: [...readable('shop/'), ...readable('m/'), ...readable('cut/')] });
    const jobId = await h.job(tenant, input, { bucket, prefix: 'cut/' });

    await h.expand();

    expect((await h.tasks(tenant, jobId)).map((t) => t.key)).toEqual([
      'shop/a.jpg',
      'shop/b.jpg',
      'shop/c.jpg',
      'shop/d.jpg',
    ]);
    expect((await h.problems(tenant, jobId)).map((p) => [p.position, p.code])).toEqual([
      [5, 'duplicate'],
      [6, 'invalid_line'],
      [7, 'invalid_line'],
      [8, 'invalid_key'],
      [9, 'forbidden_location'],
      [10, 'output_location'],
      [11, 'invalid_line'],
    ]);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'running', total: 4, skipped: 7 });
  });

  it('reads CSV with a header in any column order, quoted fields, and without a header', async () => {
    const withHeader = await manifest(
      'm/items.csv',
      [
        'sku,key,bucket',
        `1,shop/a.jpg,${bucket}`,
        '2,"shop/with,comma.jpg",',
        '3,"shop/open.jpg',
        '4,,',
      ].join('\r\n'),
    );
    const plain = await manifest('m/plain.csv', ['shop/x.jpg,ignored', 'shop/y.jpg'].join('\n'));
    const tenant = await h.tenant({ grants: [...readable('shop/'), ...readable('m/')] });
    const first = await h.job(tenant, withHeader, output);
    const second = await h.job(tenant, plain, output);

    await h.expand();

    expect((await h.tasks(tenant, first)).map((t) => t.key)).toEqual(['shop/a.jpg', 'shop/with,comma.jpg']);
    expect((await h.problems(tenant, first)).map((p) => [p.position, p.code])).toEqual([
      [4, 'invalid_line'],
      [5, 'invalid_line'],
    ]);
    expect((await h.tasks(tenant, second)).map((t) => t.key)).toEqual(['shop/x.jpg', 'shop/y.jpg']);
  });

  it('a manifest that does not exist ends the listing with its reason, and the job completes empty', async () => {
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, { manifest: { bucket, key: 'm/missing.jsonl' } }, output);
    await h.expand();
    expect(await h.jobRow(tenant, jobId)).toMatchObject({
      state: 'completed',
      total: 0,
      truncated_code: 'not_found',
    });
  });

  it('a job whose stored spec fails the job contract is left to other gateways, then ends as invalid_job', async () => {
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, { bucket, prefix: 'edited/' }, output);
    const other = await h.job(tenant, { bucket, prefix: 'nothing-here-either/' }, output);
    const edit = (set: string) =>
      h.db.query(`UPDATE jobs SET ${set} WHERE tenant_id = $1 AND id = $2`, [tenant, jobId]);
    await edit(`spec = spec || '{"colour": "red"}'`);

    // Young: perhaps a newer gateway's job. This expander passes over it (keeping its lease) to the next.
    await h.expand({ until: (pages) => pages.length > 0 });
    expect(await h.jobRow(tenant, other)).toMatchObject({ state: 'completed', total: 0 });
    const left = await h.jobRow(tenant, jobId);
    expect(left).toMatchObject({ state: 'expanding', truncated_code: null });
    expect(left.expansion_lease_until).not.toBeNull();

    // Older than any rolling upgrade takes, and its lease run out: no gateway can list it.
    await edit(`created_at = now() - interval '1 hour', expansion_lease_until = NULL`);
    await h.expand();
    expect(await h.jobRow(tenant, jobId)).toMatchObject({
      state: 'completed',
      total: 0,
      truncated_code: 'invalid_job',
      truncated_message: `jobs.spec of job ${tenant}/${jobId} does not match its contract: (value): Unrecognized key: "colour"; the listing ended here: submit the job again (admission names anything this release refuses in it)`,
    });
  });
});

describe('resuming and racing', () => {
  const lines = Array.from({ length: 450 }, (_, i) => `shop/r${i}.jpg`);

  it('an expander stopped between pages resumes where it stopped: no task twice, none missing', async () => {
    const input = await manifest('m/resume.txt', lines.join('\n'));
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, input, output);

    const before = await h.expand({ pageSize: 100, until: (pages) => pages.length >= 2 });
    expect(before.length).toBe(2);
    const half = await h.jobRow(tenant, jobId);
    // The cursor holds the byte after line 200, so the rest is read with a ranged GET from there.
    const offset = Buffer.byteLength(lines.slice(0, 200).join('\n')) + 1;
    expect(half).toMatchObject({ state: 'expanding', expanded_items: 200 });
    expect(JSON.parse(half.expansion_cursor as string)).toEqual({ line: 200, offset });
    expect(half.expansion_lease_until).toBeNull(); // a stopping expander lets the job go at once

    const offsets: (number | undefined)[] = [];
    const store: BlobStore = {
      ...h.s3.store,
      openRead: (b, key, options) => {
        offsets.push(options.offset);
        return h.s3.store.openRead(b, key, options);
      },
    };
    await h.expand({ pageSize: 100, store });
    expect(offsets).toEqual([offset]);
    expect((await h.tasks(tenant, jobId)).map((t) => t.key)).toEqual(lines);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'running', total: 450 });
  });

  it('a CSV resumed mid-file keeps the columns its header named', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => `${i},other-bucket-${i},shop/csv${i}.jpg`);
    const input = await manifest('m/resume.csv', ['sku,bucket,key', ...rows].join('\n'));
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, input, output);

    await h.expand({ pageSize: 100, until: (pages) => pages.length >= 1 });
    const cursor = JSON.parse((await h.jobRow(tenant, jobId)).expansion_cursor as string);
    expect(cursor).toMatchObject({ line: 100, columns: { key: 2, bucket: 1 } });
    await h.expand({ pageSize: 100 });

    // Were the columns forgotten, the SKU would be read as the key and every row would be skipped.
    expect((await h.problems(tenant, jobId)).map((p) => p.code)).toEqual(
      Array(250).fill('forbidden_location'),
    );
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ skipped: 250 });
  });

  it('a job whose cursor is a bare line number (written before byte offsets) resumes after that line', async () => {
    const input = await manifest('m/legacy.txt', lines.join('\n'));
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, input, output);
    await h.expand({ pageSize: 100, until: (pages) => pages.length >= 1 });
    await h.db.query(`UPDATE jobs SET expansion_cursor = '100' WHERE tenant_id = $1 AND id = $2`, [
      tenant,
      jobId,
    ]);

    await h.expand({ pageSize: 100 });
    expect((await h.tasks(tenant, jobId)).map((t) => t.key)).toEqual(lines);
  });

  it('two expanders on one job (a lease that ran out) never list a page twice', async () => {
    const input = await manifest('m/race.txt', lines.join('\n'));
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, input, output);

    // A lease of 1 ms: each expander takes the job over from the other all the time.
    await Promise.all([
      h.expand({ pageSize: 30, leaseMs: 1, pagesPerTurn: 1 }),
      h.expand({ pageSize: 30, leaseMs: 1, pagesPerTurn: 1 }),
    ]);
    const tasks = await h.tasks(tenant, jobId);
    expect(tasks.map((t) => t.key).sort()).toEqual([...lines].sort());
    expect(tasks.map((t) => t.item)).toEqual(lines.map((_, i) => i));
  }, 60_000);
});

describe('quotas and limits', () => {
  const keys = Array.from({ length: 300 }, (_, i) => `shop/q${i}.jpg`);

  it('stops at the daily image quota with the reason, creating only what was reserved', async () => {
    const input = await manifest('m/quota.txt', keys.join('\n'));
    const tenant = await h.tenant({ grants: readable(), quota: { imagesPerDay: 150 } });
    const jobId = await h.job(tenant, input, output);
    await h.expand({ pageSize: 100 });
    expect(await h.tasks(tenant, jobId)).toHaveLength(150);
    const job = await h.jobRow(tenant, jobId);
    expect(job).toMatchObject({
      state: 'running',
      total: 150,
      images_reserved: 150,
      truncated_code: 'quota_exceeded',
    });
    expect(job.truncated_message).toMatch(/daily image quota/);
    const [counter] = await h.db.query<{ day_used: string }>(
      'SELECT day_used FROM image_counters WHERE tenant_id = $1',
      [tenant],
    );
    expect(Number(counter!.day_used)).toBe(150);
  });

  it("stops at the tenant's maximum items per job", async () => {
    const input = await manifest('m/max.txt', keys.join('\n'));
    const tenant = await h.tenant({ grants: readable(), quota: { maxItemsPerJob: 120 } });
    const jobId = await h.job(tenant, input, output);
    await h.expand({ pageSize: 100 });
    expect(await h.tasks(tenant, jobId)).toHaveLength(120);
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ total: 120, truncated_code: 'too_many_items' });
  });

  it("lists no further while the tenant's backlog is full, then goes on", async () => {
    const input = await manifest('m/backlog.txt', keys.slice(0, 250).join('\n'));
    const tenant = await h.tenant({ grants: readable() });
    const jobId = await h.job(tenant, input, output);
    await h.expand({ pageSize: 100, until: (pages) => pages.length >= 1 });
    expect(await h.jobRow(tenant, jobId)).toMatchObject({ state: 'expanding', expanded_items: 100 });

    // 100 tasks wait for the dispatcher: with a backlog bound of 100 the job is not claimed.
    expect(await claimExpandingJob(h.db, 30_000, 100)).toBeUndefined();
    await h.db.query('UPDATE tenant_dispatch SET pending = 0 WHERE tenant_id = $1', [tenant]); // drained
    await h.expand({ pageSize: 100, backlog: 1000 });
    expect(await h.tasks(tenant, jobId)).toHaveLength(250);
  });
});
