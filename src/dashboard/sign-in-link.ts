import { createDatabaseClock } from '../admission/database-clock.js';
import { recordAudit } from '../audit/audit.js';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import { requireTenant } from '../tenants/tenants.js';
import { createLink, revokeAccess, type SessionScope } from './link-store.js';
import { publicUrl } from './wiring.js';

/**
 * A one-time sign-in URL (`clearcut dashboard link`, the demo), audited with who it is for.
 * Expiry is measured on the database's clock, the one the API redeems links by.
 */
export async function issueSignInLink(
  db: Database,
  config: Config,
  options: SessionScope & { readonly ttlMs: number; readonly port?: number },
): Promise<{ url: string; expiresAt: Date }> {
  if (options.tenantId !== null) await requireTenant(db, options.tenantId);
  const clock = await createDatabaseClock(db);
  const scope = { tenantId: options.tenantId, admin: options.admin };
  const link = await db.transaction(async (tx) => {
    const made = await createLink(tx, scope, { now: clock.now(), ttlMs: options.ttlMs });
    await recordAudit(tx, [
      {
        source: 'admin',
        outcome: 'dashboard.link_issued',
        ...(scope.tenantId === null ? {} : { tenantId: scope.tenantId }),
        detail: `${scope.admin ? 'operator' : 'tenant'} sign-in link, usable until ${made.expiresAt.toISOString()}`,
      },
    ]);
    return made;
  });
  const base = publicUrl(config, options.port);
  return { url: `${base}/dashboard/sign-in?token=${link.token}`, expiresAt: link.expiresAt };
}

/** `clearcut dashboard revoke`: ends a tenant's (or everyone's) sessions and unused links, audited. */
export async function revokeDashboardAccess(
  db: Database,
  tenantId: string | null,
): Promise<{ sessions: number; links: number }> {
  if (tenantId !== null) await requireTenant(db, tenantId);
  const clock = await createDatabaseClock(db);
  return db.transaction(async (tx) => {
    const revoked = await revokeAccess(tx, tenantId, clock.now());
    await recordAudit(tx, [
      {
        source: 'admin',
        outcome: 'dashboard.revoked',
        ...(tenantId === null ? {} : { tenantId }),
        detail: `${tenantId === null ? 'every tenant: ' : ''}${revoked.sessions} sessions ended, ${revoked.links} unused links revoked`,
      },
    ]);
    return revoked;
  });
}
