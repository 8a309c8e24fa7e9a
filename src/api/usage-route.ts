import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { Database } from '../db/database.js';
import type { AuthOptions } from './authenticate.js';
import { principalOf } from './authenticate.js';
import type { Answer, usageSchema } from './contracts.js';
import { tenantUsage } from './rate-limit-headers.js';

/** GET /v1/usage: the job token bucket and each image quota window (used, limit, remaining, reset). */
export function registerUsageRoute(
  app: FastifyInstance,
  deps: { db: Database; now: () => Date; authenticate: (options: AuthOptions) => preHandlerAsyncHookHandler },
): void {
  app.get(
    '/v1/usage',
    { preHandler: deps.authenticate({ scope: 'usage:read' }) },
    async (request): Promise<Answer<typeof usageSchema>> => {
      const { tenantId } = principalOf(request);
      const usage = await tenantUsage(deps.db, tenantId, deps.now());
      return {
        tenant: tenantId,
        jobs:
          usage.jobs === null
            ? null
            : {
                burst: usage.jobs.burst,
                perMinute: usage.jobs.perMinute,
                available: Math.floor(usage.jobs.tokens),
              },
        images: [
          ...usage.images.map((w) => ({ ...w, resetsAt: w.resetsAt.toISOString() })),
          ...usage.unlimited.map((w) => ({ ...w, limit: null, remaining: null, resetsAt: null })),
        ],
      };
    },
  );
}
