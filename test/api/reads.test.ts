import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowEnd, windowStarts } from '../../src/policy/quota-windows.js';
import { type ApiHarness, job, signedFetch, startApiHarness, type TestKey } from './harness.js';

// The read side over HTTP: status, paged listings, usage with its RateLimit headers, ops routes.

let h: ApiHarness;
let key: TestKey;

beforeAll(async () => {
  h = await startApiHarness('api reads');
  await h.tenant('acme');
  await h.db.query(
    `INSERT INTO quota_overrides (tenant_id, limits)
     VALUES ('acme', '{"jobs_per_minute": 60, "burst": 50, "images_per_day": 100}')`,
  );
  key = await h.key('acme');
});
afterAll(async () => h?.close());

const get = async (path: string) => {
  const response = await signedFetch(h.base, key, { path });
  expect(response.status).toBe(200);
  return response;
};
const submit = async (id: string, keys: string[]) => {
  const response = await signedFetch(h.base, key, {
    method: 'POST',
    path: '/v1/jobs',
    body: job('acme', keys),
    idempotencyKey: id,
  });
  expect(response.status).toBe(202);
};

describe('reading jobs and usage over HTTP', () => {
  it("pages a job's items with a status filter, and shows its progress", async () => {
    await submit('items-1', ['a.jpg', 'b.jpg', 'c.jpg']);
    await h.db.query(
      `UPDATE tasks SET status = 'failed', error_code = 'unreadable_image', error_message = 'not an image'
       WHERE tenant_id = 'acme' AND job_id = 'items-1' AND item = 1`,
    );
    const failed = await (await get('/v1/jobs/items-1/items?status=failed')).json();
    expect(failed).toEqual({
      items: [
        {
          item: 1,
          source: 's3://in-acme/b.jpg',
          status: 'failed',
          errorCode: 'unreadable_image',
          errorMessage: 'not an image',
        },
      ],
      nextCursor: null,
    });
    const seen: number[] = [];
    let path = '/v1/jobs/items-1/items?limit=2';
    for (;;) {
      const page = (await (await get(path)).json()) as {
        items: { item: number }[];
        nextCursor: string | null;
      };
      seen.push(...page.items.map((i) => i.item));
      if (page.nextCursor === null) break;
      path = `/v1/jobs/items-1/items?limit=2&cursor=${page.nextCursor}`;
    }
    expect(seen).toEqual([0, 1, 2]);
    const status = await (await get('/v1/jobs/items-1')).json();
    expect(status).toMatchObject({
      jobId: 'items-1',
      state: 'running',
      total: 3,
      pending: 3,
      resultsManifest: null,
    });
  });

  it("lists the tenant's jobs newest first, page by page, filtered by state", async () => {
    for (const id of ['list-1', 'list-2', 'list-3']) await submit(id, ['x.jpg']);
    const ids: string[] = [];
    let path = '/v1/jobs?state=running&limit=2';
    for (;;) {
      const page = (await (await get(path)).json()) as {
        jobs: { jobId: string }[];
        nextCursor: string | null;
      };
      ids.push(...page.jobs.map((j) => j.jobId));
      if (page.nextCursor === null) break;
      path = `/v1/jobs?state=running&limit=2&cursor=${page.nextCursor}`;
    }
    expect(ids.slice(0, 3)).toEqual(['list-3', 'list-2', 'list-1']);
    expect(new Set(ids).size).toBe(ids.length);
    const none = await (await get('/v1/jobs?state=completed')).json();
    expect(none).toEqual({ jobs: [], nextCursor: null });
    const bad = await signedFetch(h.base, key, { path: '/v1/jobs?cursor=bm9wZQ' });
    expect(bad.status).toBe(400);
  });

  it('reports each quota window (used, limit, remaining, reset) and says the same in RateLimit headers', async () => {
    const before = (await (await get('/v1/usage')).json()) as { images: { window: string; used: number }[] };
    const usedBefore = before.images.find((w) => w.window === 'day')!.used;
    const hourBefore = before.images.find((w) => w.window === 'hour')!.used;
    await submit('usage-1', ['a.jpg', 'b.jpg']);
    const now = new Date();
    const response = await get('/v1/usage');
    const usage = (await response.json()) as { jobs: { burst: number; available: number }; images: object[] };
    expect(usage.jobs).toMatchObject({ burst: 50, perMinute: 60 });
    const day = usage.images.find((w) => (w as { window: string }).window === 'day');
    expect(day).toEqual({
      window: 'day',
      limit: 100,
      used: usedBefore + 2,
      remaining: 100 - usedBefore - 2,
      resetsAt: windowEnd('day', windowStarts(now).day).toISOString(),
    });
    expect(usage.images).toContainEqual({
      window: 'hour',
      used: hourBefore + 2,
      limit: null,
      remaining: null,
      resetsAt: null,
    });
    expect(response.headers.get('ratelimit-policy')).toBe(
      '"jobs";q=50;w=50, "images-day";q=100;w=86400;qu="images"',
    );
    expect(response.headers.get('ratelimit')).toContain(`"images-day";r=${100 - usedBefore - 2};t=`);
  });

  it('serves /healthz, /readyz and /metrics like the other processes', async () => {
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.base}/readyz`);
    expect(await ready.json()).toEqual({ ready: true, checks: { database: true, signingKeys: true } });
    const metrics = await (await fetch(`${h.base}/metrics`)).text();
    expect(metrics).toMatch(
      /clearcut_api_responses_total\{route="\/v1\/usage",status="200",role="api"\} \d+/,
    );
  });
});
