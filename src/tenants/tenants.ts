import { recordAudit } from '../audit/audit.js';
import { tenantIdPattern } from '../contracts/identifiers.js';
import type { Database, Queryable } from '../db/database.js';
import { PolicyStoreError, unknownTenant } from './errors.js';

export interface Tenant {
  readonly id: string;
  readonly tier: string;
  readonly createdAt: Date;
}

/** Why `id` cannot name a tenant, or undefined. Tenant ids appear in routing keys and object prefixes. */
export function tenantIdProblem(id: string): string | undefined {
  return tenantIdPattern.test(id)
    ? undefined
    : 'must be 2–63 characters: a lowercase letter, then lowercase letters, digits or hyphens';
}

const tenantColumns = 'id, tier, created_at AS "createdAt"';

export async function createTenant(db: Database, id: string, tier: string): Promise<Tenant> {
  return db.transaction(async (tx) => {
    await requireTier(tx, tier);
    const [tenant] = await tx.query<Tenant>(
      `INSERT INTO tenants (id, tier) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING ${tenantColumns}`,
      [id, tier],
    );
    if (tenant === undefined) throw new PolicyStoreError('duplicate_tenant', `tenant "${id}" already exists`);
    await recordAudit(tx, [
      { source: 'admin', outcome: 'tenant.created', tenantId: id, detail: `tier ${tier}` },
    ]);
    return tenant;
  });
}

export async function listTenants(q: Queryable): Promise<Tenant[]> {
  return q.query<Tenant>(`SELECT ${tenantColumns} FROM tenants ORDER BY id`);
}

/** Moves the tenant to another tier; its own quota overrides stay in force. Returns the previous tier. */
export async function setTenantTier(db: Database, id: string, tier: string): Promise<{ previous: string }> {
  return db.transaction(async (tx) => {
    await requireTier(tx, tier);
    const [row] = await tx.query<{ previous: string }>(
      `UPDATE tenants t SET tier = $2 FROM tenants old
       WHERE t.id = $1 AND old.id = t.id RETURNING old.tier AS previous`,
      [id, tier],
    );
    if (row === undefined) throw unknownTenant(id);
    await recordAudit(tx, [
      { source: 'admin', outcome: 'tenant.tier_set', tenantId: id, detail: `tier ${row.previous} → ${tier}` },
    ]);
    return row;
  });
}

export async function listTiers(q: Queryable): Promise<string[]> {
  const rows = await q.query<{ tier: string }>('SELECT tier FROM quota_tiers ORDER BY tier');
  return rows.map((row) => row.tier);
}

/** Throws unknown_tenant unless the tenant exists. */
export async function requireTenant(q: Queryable, id: string): Promise<void> {
  const [tenant] = await q.query('SELECT 1 FROM tenants WHERE id = $1', [id]);
  if (tenant === undefined) throw unknownTenant(id);
}

async function requireTier(q: Queryable, tier: string): Promise<void> {
  const tiers = await listTiers(q);
  if (!tiers.includes(tier)) {
    throw new PolicyStoreError('unknown_tier', `unknown tier "${tier}": expected one of ${tiers.join(', ')}`);
  }
}
