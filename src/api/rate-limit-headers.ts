import type { Queryable } from '../db/database.js';
import { quotaReport } from '../policy/quota-settings.js';
import { windowEnd, windowStarts } from '../policy/quota-windows.js';

// RateLimit-Policy and RateLimit (IETF httpapi draft, structured fields): the job token bucket and
// each image quota window the tenant has. A limit the tenant does not have is not announced.

export async function rateLimitHeaders(
  q: Queryable,
  tenantId: string,
  now: Date,
): Promise<Record<string, string>> {
  const usage = await tenantUsage(q, tenantId, now);
  const policies: string[] = [];
  const states: string[] = [];
  if (usage.jobs !== null) {
    const { burst, perMinute, tokens } = usage.jobs;
    policies.push(`"jobs";q=${burst};w=${Math.max(1, Math.ceil((burst * 60) / perMinute))}`);
    const fullIn = Math.ceil(((burst - tokens) * 60) / perMinute);
    states.push(`"jobs";r=${Math.floor(tokens)};t=${Math.max(0, fullIn)}`);
  }
  for (const window of usage.images) {
    const seconds = { hour: 3600, day: 86_400, month: 2_592_000 }[window.window];
    policies.push(`"images-${window.window}";q=${window.limit};w=${seconds};qu="images"`);
    const reset = Math.max(0, Math.ceil((window.resetsAt.getTime() - now.getTime()) / 1000));
    states.push(`"images-${window.window}";r=${window.remaining};t=${reset}`);
  }
  if (policies.length === 0) return {};
  return { 'ratelimit-policy': policies.join(', '), ratelimit: states.join(', ') };
}

export interface TenantUsage {
  /** The job token bucket; null when the tenant has no job rate. */
  readonly jobs: { readonly burst: number; readonly perMinute: number; readonly tokens: number } | null;
  /** Each image window with a limit. */
  readonly images: {
    readonly window: 'hour' | 'day' | 'month';
    readonly limit: number;
    readonly used: number;
    readonly remaining: number;
    readonly resetsAt: Date;
  }[];
  /** Windows without a limit, with their use. */
  readonly unlimited: { readonly window: 'hour' | 'day' | 'month'; readonly used: number }[];
}

export async function tenantUsage(q: Queryable, tenantId: string, now: Date): Promise<TenantUsage> {
  const report = await quotaReport(q, tenantId, now);
  const { policy } = report;
  const starts = windowStarts(now);
  const limits = { hour: policy.imagesPerHour, day: policy.imagesPerDay, month: policy.imagesPerMonth };
  const windows = (['hour', 'day', 'month'] as const).map((window) => ({ window, limit: limits[window] }));
  return {
    jobs:
      policy.jobsPerMinute === null || policy.burst === null || report.jobTokens === null
        ? null
        : { burst: policy.burst, perMinute: policy.jobsPerMinute, tokens: report.jobTokens },
    images: windows.flatMap(({ window, limit }) =>
      limit === null
        ? []
        : [
            {
              window,
              limit,
              used: report.used[window],
              remaining: Math.max(0, limit - report.used[window]),
              resetsAt: windowEnd(window, starts[window]),
            },
          ],
    ),
    unlimited: windows.flatMap(({ window, limit }) =>
      limit === null ? [{ window, used: report.used[window] }] : [],
    ),
  };
}
