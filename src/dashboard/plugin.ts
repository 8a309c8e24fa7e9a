import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import { accessCheck, refuse } from './access.js';
import { registerAuditPage } from './audit-page.js';
import type { DashboardDeps } from './deps.js';
import { registerJobPages } from './job-pages.js';
import { registerKeysPage } from './keys-page.js';
import { registerOperatorPages } from './operator-pages.js';
import { registerSignInRoutes } from './sign-in-routes.js';
import { registerUsagePage } from './usage-page.js';
import { registerWebhooksPage } from './webhooks-page.js';

// The dashboard: server-rendered pages under /dashboard in the API process, with its own cookie,
// form-body and CSRF handling (encapsulated: the API's routes keep reading raw bytes).

const staticDir = fileURLToPath(new URL('./static/', import.meta.url));
const chartJs = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
const assets: Record<string, { file: string; type: string }> = {
  'dashboard.css': { file: join(staticDir, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'dashboard.js': { file: join(staticDir, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  'chart.umd.min.js': { file: chartJs, type: 'text/javascript; charset=utf-8' },
};

const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  // Keeps a sign-in link's token out of any Referer header.
  'referrer-policy': 'no-referrer',
};

export async function dashboardPlugin(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
  await app.register(fastifyCsrf, {
    cookieKey: 'clearcut_csrf',
    cookieOpts: { path: '/dashboard', httpOnly: true, sameSite: 'strict', secure: deps.secureCookies },
  });
  app.addHook('onRequest', accessCheck(deps));
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(securityHeaders);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    { config: { access: 'public' } },
    async (request, reply) => {
      const asset = assets[request.params.name];
      if (asset === undefined || !Object.hasOwn(assets, request.params.name)) {
        return refuse(reply, 404, 'Not found', 'No such file.');
      }
      return reply
        .type(asset.type)
        .header('cache-control', 'public, max-age=3600')
        .send(await readFile(asset.file));
    },
  );
  registerSignInRoutes(app, deps);
  registerUsagePage(app, deps);
  registerJobPages(app, deps);
  registerKeysPage(app, deps);
  registerWebhooksPage(app, deps);
  registerAuditPage(app, deps);
  registerOperatorPages(app, deps);

  app.setNotFoundHandler((request, reply) =>
    refuse(
      reply,
      404,
      'Not found',
      `There is no dashboard page ${request.url.split('?')[0]!.slice(0, 200)}.`,
    ),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 403 && error.code?.startsWith('FST_CSRF')) {
      return refuse(
        reply,
        403,
        'Form refused',
        'The form did not carry a valid CSRF token (it may be from an older page, or from another site). Reload the page and try again.',
      );
    }
    if (status < 500) return refuse(reply, status, 'Request refused', error.message);
    deps.log.error({ err: error, route: request.routeOptions.url }, 'dashboard page failed');
    return refuse(
      reply,
      500,
      'Something went wrong',
      'The page failed on our side; it is logged. Try again shortly.',
    );
  });
}
