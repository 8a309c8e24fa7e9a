import type { FastifyInstance } from 'fastify';
import { tenantOf } from './access.js';
import { imagesFinished } from './activity-store.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';

// GET /dashboard/: each quota window (used, limit, remaining, reset) as GET /v1/usage computes it,
// and the images finished per hour over the last day and per day over the last month.

export function registerUsagePage(app: FastifyInstance, deps: DashboardDeps): void {
  app.get('/', async (request, reply) => {
    const tenantId = tenantOf(request);
    const now = deps.now();
    const [usage, hourly, daily] = await Promise.all([
      deps.usage(tenantId, now),
      imagesFinished(deps.db, tenantId, 'hour', now),
      imagesFinished(deps.db, tenantId, 'day', now),
    ]);
    return showPage(
      request,
      reply,
      'usage',
      { title: `Usage of ${tenantId}`, current: 'usage' },
      {
        tenantId,
        usage,
        now,
        charts: [
          {
            id: 'hourly',
            caption: 'Images finished per hour, last 24 hours (UTC)',
            rows: hourly.map((b) => ({
              label: `${b.start.toISOString().slice(11, 16)}`,
              at: b.start,
              images: b.images,
            })),
          },
          {
            id: 'daily',
            caption: 'Images finished per day, last 30 days (UTC)',
            rows: daily.map((b) => ({
              label: b.start.toISOString().slice(5, 10),
              at: b.start,
              images: b.images,
            })),
          },
        ],
      },
    );
  });
}
