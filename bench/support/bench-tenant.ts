import type { Database } from '../../src/db/database.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { noLimits, setQuota } from '../../src/policy/quota-settings.js';
import { createTenant } from '../../src/tenants/tenants.js';

/**
 * Tenant `id` (default `bench`) on the pro tier with every limit lifted (no quota or rate limit stands between a
 * benchmark and what it measures), reading bench-in and writing bench-out; returns its id.
 */
export async function createBenchTenant(db: Database, id = 'bench'): Promise<string> {
  const tenant = (await createTenant(db, id, 'pro')).id;
  await setQuota(db, tenant, noLimits);
  await addGrant(db, tenant, { bucket: 'bench-in', prefix: '', access: 'read' });
  await addGrant(db, tenant, { bucket: 'bench-out', prefix: '', access: 'write' });
  return tenant;
}
