import type { Queryable } from '../db/database.js';
import { type EffectivePolicy, reserveImages, takeJobTokens } from '../policy/quotas.js';
import { type Rejected, reject } from './decision.js';

/** One job's claim on its tenant's quotas. */
export interface QuotaClaim {
  readonly tenantId: string;
  readonly images: number;
}

/**
 * Takes one job token and the job's images for each claim, in claim order within a tenant, and
 * returns the refusals by claim index. Same outcome as one call per claim, with fewer statements:
 * a tenant's tokens are taken in one statement (none for a tenant without a job rate), and its
 * images are reserved for the whole batch at once, claim by claim only when that fails.
 */
export async function takeQuotas(
  tx: Queryable,
  claims: readonly QuotaClaim[],
  policies: ReadonlyMap<string, EffectivePolicy>,
  now: Date,
): Promise<Map<number, Rejected>> {
  const refusals = new Map<number, Rejected>();
  const byTenant = new Map<string, number[]>();
  for (const [index, claim] of claims.entries()) {
    const indexes = byTenant.get(claim.tenantId);
    if (indexes) indexes.push(index);
    else byTenant.set(claim.tenantId, [index]);
  }
  // Tenant order: concurrent gateways lock the counter rows in the same order.
  for (const tenant of [...byTenant.keys()].sort()) {
    const policy = policies.get(tenant);
    let open = byTenant.get(tenant)!;
    if (policy?.jobsPerMinute !== null) {
      // The first claims in order get the tokens the bucket holds, as one call per claim would.
      const { taken, retryAfterSeconds } = await takeJobTokens(tx, tenant, open.length, now);
      for (const index of open.slice(taken)) {
        refusals.set(index, rateLimited(tenant, policy, retryAfterSeconds!));
      }
      open = open.slice(0, taken);
    }
    const images = open.reduce((sum, index) => sum + claims[index]!.images, 0);
    if (open.length === 0 || (await reserveImages(tx, tenant, images, now)).ok) continue;
    for (const index of open) {
      const reserved = await reserveImages(tx, tenant, claims[index]!.images, now);
      if (!reserved.ok) {
        const { detail, retryAfterSeconds } = reserved;
        refusals.set(
          index,
          reject('quota_exceeded', detail, retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        );
      }
    }
  }
  return refusals;
}

function rateLimited(
  tenant: string,
  policy: EffectivePolicy | undefined,
  retryAfterSeconds: number,
): Rejected {
  return reject(
    'rate_limited',
    `tenant ${tenant} may submit ${policy?.jobsPerMinute} jobs per minute (burst ${policy?.burst}); retry in ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}
