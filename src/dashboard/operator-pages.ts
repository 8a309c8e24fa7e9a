import type { FastifyInstance } from 'fastify';
import { messageIdPattern } from '../contracts/identifiers.js';
import { errorMessage } from '../errors.js';
import { refuse } from './access.js';
import { rejectionsByDay, tenantsByUsage } from './activity-store.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';
import { probeProcess } from './process-probes.js';

// Operator pages (admin sessions): tenants by usage and rejections by reason over time (audit
// log); queues with their dead letters and the replay button; each configured process's
// readiness and metrics, read from its own /readyz and /metrics.

const rejectionDays = 14;
/** The overview shows the busiest tenants only: its cost must not grow with the tenant count. */
export const tenantsShown = 50;

export function registerOperatorPages(app: FastifyInstance, deps: DashboardDeps): void {
  const admin = { config: { access: 'admin' as const } };

  app.get('/admin', admin, async (request, reply) => {
    const now = deps.now();
    const [tenants, rejections] = await Promise.all([
      tenantsByUsage(deps.db, now, tenantsShown),
      rejectionsByDay(deps.db, now, rejectionDays),
    ]);
    const days = Array.from({ length: rejectionDays }, (_, i) => {
      const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
      day.setUTCDate(day.getUTCDate() - (rejectionDays - 1 - i));
      return day.toISOString().slice(0, 10);
    });
    const reasons = [...new Set(rejections.map((r) => r.reason))].sort();
    const table = days.map((day) => ({
      day,
      counts: reasons.map(
        (reason) =>
          rejections.find((r) => r.reason === reason && r.day.toISOString().slice(0, 10) === day)?.count ?? 0,
      ),
    }));
    return showPage(
      request,
      reply,
      'admin',
      { title: 'Operator overview', current: 'admin' },
      {
        tenants: tenants.tenants,
        tenantCount: tenants.total,
        tenantsShown,
        rejections: { days, reasons, table },
        rejectionDays,
      },
    );
  });

  app.get<{ Querystring: { replayed?: string } }>('/admin/queues', admin, async (request, reply) => {
    const [queues, processes] = await Promise.all([
      deps.deadLetters.depths().then(
        (depths) => ({ depths, error: null }),
        (error: unknown) => ({ depths: [], error: errorMessage(error) }),
      ),
      Promise.all(deps.processes.map(probeProcess)),
    ]);
    const replayed = request.query.replayed;
    return showPage(
      request,
      reply,
      'queues',
      { title: 'Queues and processes', current: 'queues' },
      {
        queues,
        processes,
        replayed:
          replayed !== undefined && /^\d+,\d+,\d+$/.test(replayed) ? replayed.split(',').map(Number) : null,
      },
    );
  });

  app.post<{ Body: { job?: string } }>(
    '/admin/dead-letters/replay',
    { ...admin, preHandler: app.csrfProtection },
    async (request, reply) => {
      const job = request.body?.job?.trim() ?? '';
      if (job !== '' && !messageIdPattern.test(job)) {
        return refuse(reply, 400, 'Not a job id', 'A job id is 1–128 characters from A-Z a-z 0-9 _ -.');
      }
      const counts = await deps.deadLetters.replayTasks(job === '' ? { all: true } : { jobId: job });
      deps.log.info({ counts, job: job || undefined }, 'dead-lettered tasks replayed from the dashboard');
      // Post/redirect/get: reloading the result page does not replay again.
      return reply.redirect(
        `/dashboard/admin/queues?replayed=${counts.replayed},${counts.already_succeeded},${counts.no_row}`,
        303,
      );
    },
  );
}
