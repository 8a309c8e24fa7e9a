import type { FastifyInstance } from 'fastify';
import { listWebhookEndpoints, recentWebhookDeliveries } from '../webhooks/store.js';
import { tenantOf } from './access.js';
import type { DashboardDeps } from './deps.js';
import { showPage } from './page.js';

// GET /dashboard/webhooks: the tenant's endpoints (never their secrets) and recent deliveries with
// each attempt, read through the webhooks store's tenant-scoped reads.

const deliveriesShown = 50;

export function registerWebhooksPage(app: FastifyInstance, deps: DashboardDeps): void {
  app.get('/webhooks', async (request, reply) => {
    const tenantId = tenantOf(request);
    const [endpoints, deliveries] = await Promise.all([
      listWebhookEndpoints(deps.db, { tenantId }),
      recentWebhookDeliveries(deps.db, { tenantId, limit: deliveriesShown }),
    ]);
    const urls = new Map(endpoints.map((e) => [e.id, e.url]));
    return showPage(
      request,
      reply,
      'webhooks',
      { title: 'Webhooks', current: 'webhooks' },
      {
        endpoints,
        deliveries: deliveries.map((d) => ({ ...d, url: urls.get(d.endpointId) ?? d.endpointId })),
        deliveriesShown,
      },
    );
  });
}
