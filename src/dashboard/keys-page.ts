import type { FastifyInstance } from 'fastify';
import { listKeys } from '../keys/key-admin.js';
import { tenantOf } from './access.js';
import { keysLastUsed } from './activity-store.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';

// GET /dashboard/keys: the tenant's signing keys (never their secrets) with the rotation reminder.

const dayMs = 86_400_000;
/** Keys older than this should be rotated (`clearcut keys rotate`). */
export const rotateAfterDays = 90;
/** An expiry this close is announced. */
export const expiryWarningDays = 14;

export function registerKeysPage(app: FastifyInstance, deps: DashboardDeps): void {
  app.get('/keys', async (request, reply) => {
    const tenantId = tenantOf(request);
    const now = deps.now();
    const [keys, lastUsed] = await Promise.all([
      listKeys(deps.db, { tenantId, now }),
      keysLastUsed(deps.db, tenantId),
    ]);
    const rows = keys.map((key) => {
      const warnings: string[] = [];
      const ageDays = Math.floor((now.getTime() - key.createdAt.getTime()) / dayMs);
      if (key.state === 'active' && ageDays >= rotateAfterDays) {
        warnings.push(`${ageDays} days old: rotate it (clearcut keys rotate ${key.keyId})`);
      }
      if (key.state === 'active' && key.expiresAt !== null) {
        const daysLeft = (key.expiresAt.getTime() - now.getTime()) / dayMs;
        if (daysLeft <= expiryWarningDays)
          warnings.push(`expires in ${Math.max(0, Math.ceil(daysLeft))} days`);
      }
      return { ...key, lastUsed: lastUsed.get(key.keyId) ?? null, warnings };
    });
    return showPage(
      request,
      reply,
      'keys',
      { title: 'Signing keys', current: 'keys' },
      {
        keys: rows,
        rotateAfterDays,
        expiryWarningDays,
      },
    );
  });
}
