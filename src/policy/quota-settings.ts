import { recordAudit } from '../audit/audit.js';
import type { Database, Queryable } from '../db/database.js';
import { PolicyStoreError, unknownTenant } from '../tenants/errors.js';
import { type ImageWindow, imageWindows, windowStarts } from './quota-windows.js';
import { type EffectivePolicy, effectivePolicy } from './quotas.js';

// A tenant's own quota settings over its tier preset (`clearcut quota set|show`).

/** Each setting: its column in quota_tiers and key in quota_overrides.limits, and its smallest value. */
export const quotaSettings = {
  jobsPerMinute: { column: 'jobs_per_minute', min: 1 },
  burst: { column: 'burst', min: 1 },
  imagesPerHour: { column: 'images_per_hour', min: 0 },
  imagesPerDay: { column: 'images_per_day', min: 0 },
  imagesPerMonth: { column: 'images_per_month', min: 0 },
  maxItemsPerJob: { column: 'max_items_per_job', min: 1 },
  maxInFlight: { column: 'max_in_flight', min: 1 },
} as const;
export type QuotaSettingName = keyof typeof quotaSettings;
export const quotaSettingNames = Object.keys(quotaSettings) as QuotaSettingName[];

/** A number, null for unlimited, or 'default' to drop the tenant's override and use the tier preset again. */
export type QuotaValue = number | null | 'default';
export type QuotaChanges = Partial<Record<QuotaSettingName, QuotaValue>>;

/** Every setting unlimited: a tenant whose work no quota may slow (benchmarks, throughput tests). */
export const noLimits: QuotaChanges = Object.fromEntries(quotaSettingNames.map((name) => [name, null]));

const maxValue = 2_147_483_647;

/** Why `value` cannot be stored for `name`, or undefined. */
export function quotaValueProblem(name: QuotaSettingName, value: QuotaValue): string | undefined {
  if (value === null || value === 'default') return undefined;
  const { min } = quotaSettings[name];
  if (!Number.isSafeInteger(value) || value < min || value > maxValue) {
    return `must be a whole number from ${min} to ${maxValue}, "unlimited" or "default"`;
  }
  return undefined;
}

export async function setQuota(
  db: Database,
  tenantId: string,
  changes: QuotaChanges,
): Promise<EffectivePolicy> {
  const entries = Object.entries(changes) as [QuotaSettingName, QuotaValue][];
  for (const [name, value] of entries) {
    const problem = quotaValueProblem(name, value);
    if (problem !== undefined) throw new RangeError(`${name} ${problem}`);
  }
  const set = Object.fromEntries(
    entries
      .filter(([, value]) => value !== 'default')
      .map(([name, value]) => [quotaSettings[name].column, value]),
  );
  const reset = entries
    .filter(([, value]) => value === 'default')
    .map(([name]) => quotaSettings[name].column);
  return db.transaction(async (tx) => {
    const [tenant] = await tx.query('SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
    if (tenant === undefined) throw unknownTenant(tenantId);
    await tx.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ($1, $2::jsonb - $3::text[])
       ON CONFLICT (tenant_id) DO UPDATE
       SET limits = (quota_overrides.limits || EXCLUDED.limits) - $3::text[], updated_at = now()`,
      [tenantId, JSON.stringify(set), reset],
    );
    const policy = (await effectivePolicy(tx, tenantId))!;
    if ((policy.jobsPerMinute === null) !== (policy.burst === null)) {
      throw new PolicyStoreError(
        'invalid_state',
        `jobs per minute (${policy.jobsPerMinute ?? 'unlimited'}) and burst (${policy.burst ?? 'unlimited'}) must both be limited or both unlimited: set --jobs-per-minute and --burst together`,
      );
    }
    const detail = entries.map(([name, value]) => `${name}=${value ?? 'unlimited'}`).join(' ');
    await recordAudit(tx, [{ source: 'admin', outcome: 'quota.set', tenantId, detail }]);
    return policy;
  });
}

export interface QuotaReport {
  readonly policy: EffectivePolicy;
  /** The tenant's own settings (null = overridden to unlimited); absent names follow the tier. */
  readonly overrides: Partial<Record<QuotaSettingName, number | null>>;
  /** Job tokens available now; null when the tenant has no job rate. */
  readonly jobTokens: number | null;
  /** Images used in the current UTC hour, day and month. */
  readonly used: Record<ImageWindow, number>;
}

export async function quotaReport(
  q: Queryable,
  tenantId: string,
  now: Date = new Date(),
): Promise<QuotaReport> {
  const policy = await effectivePolicy(q, tenantId);
  if (policy === undefined) throw unknownTenant(tenantId);
  const starts = windowStarts(now);
  const [row] = await q.query<{
    limits: Record<string, number | null> | null;
    tokens: number | null;
    hour: string | null;
    day: string | null;
    month: string | null;
  }>(
    `SELECT o.limits,
       refilled_tokens(b.tokens, b.refilled_at, $2::timestamptz, p.jobs_per_minute, p.burst) AS tokens,
       CASE WHEN c.hour_start >= $3::timestamptz THEN c.hour_used ELSE 0 END AS hour,
       CASE WHEN c.day_start >= $4::timestamptz THEN c.day_used ELSE 0 END AS day,
       CASE WHEN c.month_start >= $5::timestamptz THEN c.month_used ELSE 0 END AS month
     FROM tenant_policies p
     LEFT JOIN quota_overrides o USING (tenant_id)
     LEFT JOIN job_token_buckets b USING (tenant_id)
     LEFT JOIN image_counters c USING (tenant_id)
     WHERE p.tenant_id = $1`,
    [tenantId, now, starts.hour, starts.day, starts.month],
  );
  const limits = row?.limits ?? {};
  const overrides = Object.fromEntries(
    quotaSettingNames
      .filter((name) => Object.hasOwn(limits, quotaSettings[name].column))
      .map((name) => [name, limits[quotaSettings[name].column] ?? null]),
  );
  return {
    policy,
    overrides,
    // No bucket row yet: the bucket is full.
    jobTokens: policy.jobsPerMinute === null ? null : (row?.tokens ?? policy.burst),
    used: Object.fromEntries(imageWindows.map((w) => [w, Number(row?.[w] ?? 0)])) as Record<
      ImageWindow,
      number
    >,
  };
}

export type TierPreset = Omit<EffectivePolicy, 'tenantId'>;

export async function tierPresets(q: Queryable): Promise<TierPreset[]> {
  return q.query<TierPreset>(
    `SELECT tier, jobs_per_minute AS "jobsPerMinute", burst, images_per_hour AS "imagesPerHour",
       images_per_day AS "imagesPerDay", images_per_month AS "imagesPerMonth",
       max_items_per_job AS "maxItemsPerJob", max_in_flight AS "maxInFlight", priority
     FROM quota_tiers ORDER BY priority, images_per_day NULLS LAST, tier`,
  );
}
