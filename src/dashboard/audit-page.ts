import type { FastifyInstance } from 'fastify';
import { type AuditSource, auditSources, listAudit } from '../audit/audit.js';
import { refuse, tenantOf } from './access.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';

// GET /dashboard/audit: the tenant's audit trail, newest first, filtered by time, source,
// outcome and reason (the same rows `clearcut audit --tenant` prints).

const periods = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
type Period = keyof typeof periods;
const shown = 200;
const word = /^[a-z0-9_.-]{1,64}$/;

export function registerAuditPage(app: FastifyInstance, deps: DashboardDeps): void {
  app.get<{ Querystring: { since?: string; source?: string; outcome?: string; reason?: string } }>(
    '/audit',
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { since = '7d', source = '', outcome = '', reason = '' } = request.query;
      if (!Object.hasOwn(periods, since)) {
        return refuse(
          reply,
          400,
          'Unknown period',
          `since must be one of ${Object.keys(periods).join(', ')}.`,
        );
      }
      if (source !== '' && !(auditSources as readonly string[]).includes(source)) {
        return refuse(reply, 400, 'Unknown source', `source must be one of ${auditSources.join(', ')}.`);
      }
      for (const [name, value] of [
        ['outcome', outcome],
        ['reason', reason],
      ] as const) {
        if (value !== '' && !word.test(value)) {
          return refuse(
            reply,
            400,
            `Bad ${name}`,
            `${name} is a word such as rejected or quota_exceeded (a-z, 0-9, _ . -).`,
          );
        }
      }
      const rows = await listAudit(deps.db, {
        tenantId,
        since: new Date(deps.now().getTime() - periods[since as Period]),
        ...(source === '' ? {} : { source: source as AuditSource }),
        ...(outcome === '' ? {} : { outcome }),
        ...(reason === '' ? {} : { reason }),
        limit: shown,
      });
      return showPage(
        request,
        reply,
        'audit',
        { title: 'Audit trail', current: 'audit' },
        {
          rows: rows.reverse(),
          filter: { since, source, outcome, reason },
          periods: Object.keys(periods),
          sources: auditSources,
          shown,
        },
      );
    },
  );
}
