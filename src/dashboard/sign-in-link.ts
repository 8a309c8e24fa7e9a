import { createDatabaseClock } from '../admission/database-clock.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { requireTenant } from '../tenants/tenants.js';
import { createLink, type SessionScope } from './link-store.js';
import { publicUrl } from './wiring.js';

/**
 * A one-time sign-in URL (`clearcut dashboard link`, the demo). Expiry is measured on the
 * database's clock, the one the API redeems links by.
 */
export async function issueSignInLink(
  db: Database,
  config: Config,
  options: SessionScope & { readonly ttlMs: number; readonly port?: number },
): Promise<{ url: string; expiresAt: Date }> {
  if (options.tenantId !== null) await requireTenant(db, options.tenantId);
  const clock = await createDatabaseClock(db);
  const link = await createLink(
    db,
    { tenantId: options.tenantId, admin: options.admin },
    { now: clock.now(), ttlMs: options.ttlMs },
  );
  const base = publicUrl(config, options.port);
  return { url: `${base}/dashboard/sign-in?token=${link.token}`, expiresAt: link.expiresAt };
}
