import type { Queryable } from '../db/database.js';
import { unknownTenant } from '../tenants/errors.js';
import { type ImageWindow, imageWindows, windowEnd, windowStarts } from './quota-windows.js';

// The gateway's quota checks. Each is ONE SQL statement that decides and records atomically
// (INSERT ... ON CONFLICT DO UPDATE locks the tenant's row and re-reads it), so many gateways can
// check the same tenant at once; each takes a Queryable so it can run inside a batch transaction.
// The row is updated on refusals too, with the outcome stored in it: RETURNING then reports the
// exact state the decision was made on (retry-after, which window is full).

/** A tenant's tier preset with its own overrides applied. null = unlimited. */
export interface EffectivePolicy {
  readonly tenantId: string;
  readonly tier: string;
  /** Token bucket of jobs: refills at jobsPerMinute, holds at most burst. */
  readonly jobsPerMinute: number | null;
  readonly burst: number | null;
  readonly imagesPerHour: number | null;
  readonly imagesPerDay: number | null;
  readonly imagesPerMonth: number | null;
  readonly maxItemsPerJob: number | null;
  /** Tasks of this tenant released to the shared queue at once (fairness window). */
  readonly maxInFlight: number | null;
  /** The tenant's tasks go to the priority lane. */
  readonly priority: boolean;
}

export type TokenDecision = { ok: true } | { ok: false; retryAfterSeconds: number };
export type ImageReservation =
  | { ok: true }
  /** retryAfterSeconds: until every full window has reset; absent when the job is larger than a window's quota. */
  | { ok: false; reason: 'quota_exceeded'; detail: string; retryAfterSeconds?: number };

/** The EffectivePolicy fields as columns of tenant_policies. */
export const policyColumns = `tenant_id AS "tenantId", tier, jobs_per_minute AS "jobsPerMinute", burst,
  images_per_hour AS "imagesPerHour", images_per_day AS "imagesPerDay", images_per_month AS "imagesPerMonth",
  max_items_per_job AS "maxItemsPerJob", max_in_flight AS "maxInFlight", priority`;

/** Undefined when the tenant does not exist. */
export async function effectivePolicy(q: Queryable, tenantId: string): Promise<EffectivePolicy | undefined> {
  const [policy] = await q.query<EffectivePolicy>(
    `SELECT ${policyColumns} FROM tenant_policies WHERE tenant_id = $1`,
    [tenantId],
  );
  return policy;
}

const available = `refilled_tokens(b.tokens, b.refilled_at, EXCLUDED.refilled_at,
  (SELECT jobs_per_minute FROM policy), (SELECT burst FROM policy))`;
const takenOf = (tokens: string) => `LEAST($3::int, floor(${tokens}))::int`;

const takeJobTokensSql = `
WITH policy AS (
  SELECT tenant_id, jobs_per_minute, burst FROM tenant_policies WHERE tenant_id = $1
), taken AS (
  INSERT INTO job_token_buckets AS b (tenant_id, tokens, refilled_at, granted, taken)
  SELECT tenant_id, burst - ${takenOf('burst')}, $2::timestamptz, ${takenOf('burst')} = $3, ${takenOf('burst')}
  FROM policy WHERE jobs_per_minute IS NOT NULL
  ON CONFLICT (tenant_id) DO UPDATE
  SET taken = ${takenOf(available)},
      granted = ${takenOf(available)} = $3,
      tokens = ${available} - ${takenOf(available)},
      refilled_at = GREATEST(b.refilled_at, EXCLUDED.refilled_at)
  RETURNING taken, tokens
)
SELECT t.taken, t.tokens, p.jobs_per_minute AS "perMinute" FROM policy p LEFT JOIN taken t ON true`;

/** How many of the asked tokens were taken; retry-after (for the next one) when not all were. */
export type TokensTaken = { taken: number; retryAfterSeconds?: number };

/**
 * Takes up to `count` job tokens from the tenant's bucket in one statement: as many as it holds,
 * exactly as `count` calls of takeJobToken in a row would (all of them when the tenant has no job
 * rate).
 */
export async function takeJobTokens(
  q: Queryable,
  tenantId: string,
  count: number,
  now: Date,
): Promise<TokensTaken> {
  requireCount(count);
  const [row] = await q.query<{ taken: number | null; tokens: number | null; perMinute: number | null }>(
    takeJobTokensSql,
    [tenantId, now, count],
  );
  if (row === undefined) throw unknownTenant(tenantId);
  if (row.taken === null || row.taken === count) return { taken: count };
  // The epsilon absorbs float noise (4.0000001 s is 4 s, not 5).
  const seconds = Math.ceil(((1 - row.tokens!) * 60) / row.perMinute! - 1e-6);
  return { taken: row.taken, retryAfterSeconds: Math.max(1, seconds) };
}

/** Takes one job token from the tenant's bucket (always ok when the tenant has no job rate). */
export async function takeJobToken(q: Queryable, tenantId: string, now: Date): Promise<TokenDecision> {
  const { taken, retryAfterSeconds } = await takeJobTokens(q, tenantId, 1, now);
  return taken === 1 ? { ok: true } : { ok: false, retryAfterSeconds: retryAfterSeconds! };
}

// Used count of the window that starts at EXCLUDED.<w>_start. A stored window that is newer (a gateway
// whose clock runs ahead already moved it) is kept: windows never move backwards.
const usedBefore = (w: ImageWindow) =>
  `(CASE WHEN c.${w}_start >= EXCLUDED.${w}_start THEN c.${w}_used ELSE 0 END)`;
const limitOf = (w: ImageWindow) => `(SELECT images_per_${w} FROM policy)`;
const fitsAlone = imageWindows.map((w) => `(images_per_${w} IS NULL OR $2 <= images_per_${w})`).join(' AND ');
const fits = imageWindows
  .map((w) => `(${limitOf(w)} IS NULL OR ${usedBefore(w)} + $2 <= ${limitOf(w)})`)
  .join(' AND ');

const reserveImagesSql = `
WITH policy AS (
  SELECT tenant_id, images_per_hour, images_per_day, images_per_month FROM tenant_policies WHERE tenant_id = $1
), reservation AS (
  INSERT INTO image_counters AS c
    (tenant_id, reserved, hour_start, hour_used, day_start, day_used, month_start, month_used)
  SELECT tenant_id, ${fitsAlone}, $3::timestamptz, used, $4::timestamptz, used, $5::timestamptz, used
  FROM policy, LATERAL (SELECT CASE WHEN ${fitsAlone} THEN $2::bigint ELSE 0 END AS used) AS first
  ON CONFLICT (tenant_id) DO UPDATE SET
  reserved = ${fits},
  ${imageWindows
    .map(
      (w) =>
        `${w}_start = GREATEST(c.${w}_start, EXCLUDED.${w}_start), ${w}_used = ${usedBefore(w)} + CASE WHEN ${fits} THEN $2 ELSE 0 END`,
    )
    .join(',\n  ')}
  RETURNING reserved, hour_used AS "hourUsed", day_used AS "dayUsed", month_used AS "monthUsed"
)
SELECT r.*, p.images_per_hour AS "hourLimit", p.images_per_day AS "dayLimit", p.images_per_month AS "monthLimit"
FROM policy p LEFT JOIN reservation r ON true`;

type ReservationRow = { reserved: boolean } & { [W in ImageWindow as `${W}Limit`]: number | null } & {
  [W in ImageWindow as `${W}Used`]: string;
};

/** Reserves `count` images in the tenant's hourly, daily and monthly quotas: all three or none. */
export async function reserveImages(
  q: Queryable,
  tenantId: string,
  count: number,
  now: Date,
): Promise<ImageReservation> {
  requireCount(count);
  const starts = windowStarts(now);
  const [row] = await q.query<ReservationRow>(reserveImagesSql, [
    tenantId,
    count,
    starts.hour,
    starts.day,
    starts.month,
  ]);
  if (row === undefined) throw unknownTenant(tenantId);
  if (row.reserved) return { ok: true };
  return { ok: false, reason: 'quota_exceeded', ...refusalOf(row, count, now) };
}

const windowWords: Record<ImageWindow, { adjective: string; current: string }> = {
  hour: { adjective: 'hourly', current: 'this hour' },
  day: { adjective: 'daily', current: 'today' },
  month: { adjective: 'monthly', current: 'this month' },
};

/** `row` holds the counters the refusal was decided on. */
function refusalOf(
  row: ReservationRow,
  count: number,
  now: Date,
): { detail: string; retryAfterSeconds?: number } {
  const starts = windowStarts(now);
  const full = imageWindows
    .map((window) => ({ window, limit: row[`${window}Limit`], used: Number(row[`${window}Used`]) }))
    .filter((entry): entry is typeof entry & { limit: number } => entry.limit !== null);
  const tooBig = full.find(({ limit }) => count > limit);
  if (tooBig !== undefined) {
    return {
      detail: `the job has ${count} images, more than the ${windowWords[tooBig.window].adjective} quota of ${tooBig.limit}`,
    };
  }
  const blocking = full.filter((entry) => entry.used + count > entry.limit);
  const { window, limit, used } = blocking[0]!;
  const { adjective, current } = windowWords[window];
  const resets = windowEnd(window, starts[window]).toISOString();
  // A retry can succeed once every window the job does not fit in has reset.
  const lastReset = Math.max(
    ...blocking.map((entry) => windowEnd(entry.window, starts[entry.window]).getTime()),
  );
  return {
    detail: `${adjective} image quota: ${used} of ${limit} used ${current}, the job needs ${count}; resets at ${resets}`,
    retryAfterSeconds: Math.max(1, Math.ceil((lastReset - now.getTime()) / 1000)),
  };
}

const refundImagesSql = `
UPDATE image_counters SET
  ${imageWindows
    .map(
      (w, index) =>
        `${w}_used = CASE WHEN ${w}_start = $${index + 3}::timestamptz THEN GREATEST(0, ${w}_used - $2) ELSE ${w}_used END`,
    )
    .join(',\n  ')}
WHERE tenant_id = $1`;

/**
 * Gives back images reserved at `reservedAt` that never ran. Only windows still current are
 * credited: units of a window that has passed are gone anyway.
 */
export async function refundImages(
  q: Queryable,
  tenantId: string,
  count: number,
  reservedAt: Date,
): Promise<void> {
  requireCount(count);
  const starts = windowStarts(reservedAt);
  await q.query(refundImagesSql, [tenantId, count, starts.hour, starts.day, starts.month]);
}

function requireCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`image count must be a whole number ≥ 0, got ${count}`);
  }
}
