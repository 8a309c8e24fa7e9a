import type { Queryable } from '../db/database.js';
import type { Grant } from './grants.js';
import { type EffectivePolicy, policyColumns } from './quotas.js';

/** What admission checks a tenant's requests against: its effective policy and its bucket grants. */
export interface TenantRules {
  readonly policy: EffectivePolicy;
  /** In the order loadGrants gives them. */
  readonly grants: readonly Grant[];
}

/**
 * The rules of every tenant in `tenantIds` in ONE statement (a batch of many tenants costs one
 * round trip, not two per tenant). A tenant that does not exist has no entry.
 */
export async function loadTenantRules(
  q: Queryable,
  tenantIds: readonly string[],
): Promise<Map<string, TenantRules>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await q.query<EffectivePolicy & { grants: Grant[] }>(
    `SELECT ${policyColumns},
       COALESCE((SELECT json_agg(json_build_object('bucket', g.bucket, 'prefix', g.prefix, 'access', g.access)
                                 ORDER BY g.bucket, g.prefix, g.access)
                 FROM bucket_grants g WHERE g.tenant_id = p.tenant_id), '[]') AS grants
     FROM tenant_policies p WHERE p.tenant_id = ANY($1::text[])`,
    [[...new Set(tenantIds)]],
  );
  return new Map(rows.map(({ grants, ...policy }) => [policy.tenantId, { policy, grants }]));
}
