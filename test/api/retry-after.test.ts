import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, job, signedFetch, startApiHarness, type TestKey } from './harness.js';

// Every 429 says when to come back: quota_exceeded carries Retry-After (header and
// retryAfterSeconds) until every image window the job does not fit in has reset, as GET /v1/usage
// reports the resets; a job larger than a window's whole quota gets none (no wait helps).

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness('api retry-after');
});
afterAll(async () => h?.close());

async function tenantWith(id: string, limits: Record<string, number>): Promise<TestKey> {
  await h.tenant(id);
  await h.db.query('INSERT INTO quota_overrides (tenant_id, limits) VALUES ($1, $2)', [
    id,
    JSON.stringify(limits),
  ]);
  return h.key(id);
}

const submit = (key: TestKey, id: string, keys: string[]) =>
  signedFetch(h.base, key, {
    method: 'POST',
    path: '/v1/jobs',
    body: job(key.tenantId, keys),
    idempotencyKey: id,
  });

/** Seconds until each image window resets, by GET /v1/usage. */
async function resetsIn(key: TestKey): Promise<Record<string, number>> {
  const usage = (await (await signedFetch(h.base, key, { path: '/v1/usage' })).json()) as {
    images: { window: string; resetsAt: string | null }[];
  };
  return Object.fromEntries(
    usage.images
      .filter((w) => w.resetsAt !== null)
      .map((w) => [w.window, (Date.parse(w.resetsAt!) - Date.now()) / 1000]),
  );
}

describe('Retry-After on quota_exceeded', () => {
  it('is the time until the full window resets; with two full windows, until the later one', async () => {
    const key = await tenantWith('hourly', { images_per_hour: 1, images_per_day: 5 });
    expect((await submit(key, 'h1', ['a.jpg'])).status).toBe(202);
    const refused = await submit(key, 'h2', ['b.jpg']);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    const problem = (await refused.json()) as { reason: string; retryAfterSeconds: number };
    expect(problem).toMatchObject({ reason: 'quota_exceeded', retryAfterSeconds: retryAfter });
    const resets = await resetsIn(key);
    // Both measured against the same API clock a moment apart: equal to within a few seconds.
    expect(Math.abs(retryAfter - resets.hour!)).toBeLessThan(5);

    const both = await tenantWith('daily', { images_per_hour: 1, images_per_day: 1 });
    expect((await submit(both, 'd1', ['a.jpg'])).status).toBe(202);
    const blocked = await submit(both, 'd2', ['b.jpg']);
    expect(blocked.status).toBe(429);
    const dayResets = (await resetsIn(both)).day!;
    expect(Math.abs(Number(blocked.headers.get('retry-after')) - dayResets)).toBeLessThan(5);
  });

  it('is absent when the job is larger than a whole window: no wait makes it fit', async () => {
    const key = await tenantWith('tiny', { images_per_hour: 1 });
    const refused = await submit(key, 't1', ['a.jpg', 'b.jpg']);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/more than the hourly quota of 1/);
  });
});
