import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaReport, setQuota } from '../../src/policy/quota-settings.js';
import { effectivePolicy, refundImages, reserveImages, takeJobToken } from '../../src/policy/quotas.js';
import { PolicyStoreError } from '../../src/tenants/errors.js';
import { setTenantTier } from '../../src/tenants/tenants.js';
import { type MigratedDatabase, migratedDatabase } from './migrated-database.js';

let store: MigratedDatabase;
beforeAll(async () => {
  store = await migratedDatabase('quotas');
});
afterAll(async () => store.dispose());

const at = (iso: string) => new Date(iso);

describe('tier presets and overrides', () => {
  it('gives each tier its preset', async () => {
    const free = await effectivePolicy(store.db, await store.tenant('free'));
    expect(free).toMatchObject({ tier: 'free', imagesPerHour: 100, priority: false });
    const enterprise = await effectivePolicy(store.db, await store.tenant('enterprise'));
    expect(enterprise).toMatchObject({ tier: 'enterprise', imagesPerDay: 10_000, priority: false });
    const unlimited = await effectivePolicy(store.db, await store.tenant('unlimited'));
    expect(unlimited).toMatchObject({
      jobsPerMinute: null,
      burst: null,
      imagesPerHour: null,
      imagesPerDay: null,
      imagesPerMonth: null,
      priority: true,
    });
  });

  it('lets a tenant override single settings, to a number, unlimited, or back to the preset', async () => {
    const tenant = await store.tenant('pro');
    const preset = (await effectivePolicy(store.db, tenant))!;
    const changed = await setQuota(store.db, tenant, {
      imagesPerDay: 5,
      imagesPerMonth: null,
      maxInFlight: 3,
    });
    expect(changed).toMatchObject({ imagesPerDay: 5, imagesPerMonth: null, maxInFlight: 3 });
    expect(changed.jobsPerMinute).toBe(preset.jobsPerMinute);
    // Overrides survive a tier change; the rest follows the new tier.
    await setTenantTier(store.db, tenant, 'enterprise');
    const moved = (await effectivePolicy(store.db, tenant))!;
    expect(moved).toMatchObject({
      tier: 'enterprise',
      imagesPerDay: 5,
      imagesPerMonth: null,
      maxItemsPerJob: 10_000,
    });
    await setQuota(store.db, tenant, { imagesPerDay: 'default', imagesPerMonth: 'default' });
    expect(await effectivePolicy(store.db, tenant)).toMatchObject({
      imagesPerDay: 10_000,
      imagesPerMonth: 250_000,
      maxInFlight: 3,
    });
    expect((await quotaReport(store.db, tenant)).overrides).toEqual({ maxInFlight: 3 });
  });

  it('refuses a rate without a burst, values out of range, and unknown tenants, changing nothing', async () => {
    const tenant = await store.tenant('free');
    await expect(setQuota(store.db, tenant, { jobsPerMinute: null })).rejects.toThrow(
      /must both be limited or both unlimited/,
    );
    await expect(setQuota(store.db, tenant, { burst: 0 })).rejects.toThrow(
      /burst must be a whole number from 1/,
    );
    await expect(setQuota(store.db, tenant, { imagesPerDay: 1.5 })).rejects.toThrow(RangeError);
    expect((await quotaReport(store.db, tenant)).overrides).toEqual({});
    await expect(setQuota(store.db, 'nobody', { burst: 2 })).rejects.toThrow(PolicyStoreError);
    expect(await effectivePolicy(store.db, 'nobody')).toBeUndefined();
  });
});

describe('job token bucket', () => {
  it('admits exactly the burst under a concurrent flood', async () => {
    const tenant = await store.tenant('pro');
    await setQuota(store.db, tenant, { jobsPerMinute: 1, burst: 10 });
    const now = at('2030-01-01T00:00:00Z');
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () => takeJobToken(store.db, tenant, now)),
    );
    expect(decisions.filter((decision) => decision.ok)).toHaveLength(10);
    // One token a minute: the next one is a minute away.
    expect(decisions.find((decision) => !decision.ok)).toEqual({ ok: false, retryAfterSeconds: 60 });
  });

  it('refills at the rate, never above the burst, and says when to retry', async () => {
    const tenant = await store.tenant('pro');
    await setQuota(store.db, tenant, { jobsPerMinute: 10, burst: 2 });
    const start = at('2030-01-01T00:00:00Z');
    const later = (seconds: number) => new Date(start.getTime() + seconds * 1000);
    expect(await takeJobToken(store.db, tenant, start)).toEqual({ ok: true });
    expect(await takeJobToken(store.db, tenant, start)).toEqual({ ok: true });
    expect(await takeJobToken(store.db, tenant, later(2))).toEqual({ ok: false, retryAfterSeconds: 4 });
    expect(await takeJobToken(store.db, tenant, later(6))).toEqual({ ok: true });
    // An hour idle fills the bucket to its burst of 2, no more.
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await takeJobToken(store.db, tenant, later(3600))).ok);
    expect(results).toEqual([true, true, false]);
    // A gateway whose clock is behind cannot refill the bucket backwards.
    expect((await takeJobToken(store.db, tenant, later(0))).ok).toBe(false);
  });

  it('always admits a tenant without a job rate, and throws for an unknown tenant', async () => {
    const tenant = await store.tenant('unlimited');
    const decisions = await Promise.all(
      Array.from({ length: 5 }, () => takeJobToken(store.db, tenant, new Date())),
    );
    expect(decisions.every((decision) => decision.ok)).toBe(true);
    await expect(takeJobToken(store.db, 'nobody', new Date())).rejects.toThrow(
      /tenant "nobody" does not exist/,
    );
  });

  it('works inside a batch transaction, and a rolled-back batch takes nothing', async () => {
    const tenant = await store.tenant('pro');
    await setQuota(store.db, tenant, { jobsPerMinute: 1, burst: 3 });
    const now = at('2030-01-01T00:00:00Z');
    await store.db
      .transaction(async (tx) => {
        const batch = [];
        for (let i = 0; i < 4; i++) batch.push((await takeJobToken(tx, tenant, now)).ok);
        expect(batch).toEqual([true, true, true, false]);
        throw new Error('batch failed');
      })
      .catch(() => {});
    expect((await quotaReport(store.db, tenant, now)).jobTokens).toBe(3);
  });
});

describe('image reservations', () => {
  it('counts per UTC day and month, all windows or none, and refunds into the windows still current', async () => {
    const tenant = await store.tenant('pro');
    await setQuota(store.db, tenant, { imagesPerDay: 10, imagesPerMonth: 12 });
    const day1 = at('2030-03-10T23:30:00Z');
    const day2 = at('2030-03-11T00:10:00Z');
    expect(await reserveImages(store.db, tenant, 6, day1)).toEqual({ ok: true });
    const refused = await reserveImages(store.db, tenant, 5, day1);
    expect(refused).toEqual({
      ok: false,
      reason: 'quota_exceeded',
      detail: 'daily image quota: 6 of 10 used today, the job needs 5; resets at 2030-03-11T00:00:00.000Z',
      retryAfterSeconds: 1800, // 23:30 → the daily window's reset at midnight UTC
    });
    expect(await reserveImages(store.db, tenant, 4, day1)).toEqual({ ok: true });

    const monthly = await reserveImages(store.db, tenant, 3, day2);
    expect(monthly).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^monthly image quota: 10 of 12 used this month/),
    });
    // The refused reservation left the new day's counter alone.
    expect((await quotaReport(store.db, tenant, day2)).used).toEqual({ hour: 0, day: 0, month: 10 });
    expect(await reserveImages(store.db, tenant, 2, day2)).toEqual({ ok: true });

    await refundImages(store.db, tenant, 2, day2);
    expect((await quotaReport(store.db, tenant, day2)).used).toEqual({ hour: 0, day: 0, month: 10 });
    // Yesterday's units go back into the month only: yesterday's day window is over.
    await refundImages(store.db, tenant, 4, day1);
    expect((await quotaReport(store.db, tenant, day2)).used).toEqual({ hour: 0, day: 0, month: 6 });
    // Refunds never drive a counter below zero.
    await refundImages(store.db, tenant, 100, day2);
    expect((await quotaReport(store.db, tenant, day2)).used).toEqual({ hour: 0, day: 0, month: 0 });
  });

  it('limits the free tier to 100 images an hour', async () => {
    const tenant = await store.tenant('free');
    const hour = at('2030-05-01T10:15:00Z');
    expect(await reserveImages(store.db, tenant, 101, hour)).toEqual({
      ok: false,
      reason: 'quota_exceeded',
      detail: 'the job has 101 images, more than the hourly quota of 100',
    });
    expect((await reserveImages(store.db, tenant, 60, hour)).ok).toBe(true);
    expect((await reserveImages(store.db, tenant, 40, hour)).ok).toBe(true);
    expect(await reserveImages(store.db, tenant, 1, hour)).toMatchObject({
      ok: false,
      detail:
        'hourly image quota: 100 of 100 used this hour, the job needs 1; resets at 2030-05-01T11:00:00.000Z',
    });
    expect((await reserveImages(store.db, tenant, 100, at('2030-05-01T11:00:00Z'))).ok).toBe(true);
  });

  it('never reserves more than the quota under concurrent reservations', async () => {
    const tenant = await store.tenant('pro');
    await setQuota(store.db, tenant, { imagesPerDay: 10 });
    const now = at('2030-06-01T12:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 30 }, () => reserveImages(store.db, tenant, 1, now)),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(10);
    expect((await quotaReport(store.db, tenant, now)).used.day).toBe(10);
  });

  it('refuses negative and fractional counts', async () => {
    const tenant = await store.tenant('pro');
    await expect(reserveImages(store.db, tenant, -1, new Date())).rejects.toThrow(RangeError);
    await expect(refundImages(store.db, tenant, 0.5, new Date())).rejects.toThrow(RangeError);
    await expect(reserveImages(store.db, 'nobody', 1, new Date())).rejects.toThrow(PolicyStoreError);
  });
});
