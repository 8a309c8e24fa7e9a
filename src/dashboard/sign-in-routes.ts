import type { FastifyInstance } from 'fastify';
import { optionalSessionOf, refuse, sessionCookie } from './access.js';
import type { DashboardDeps } from './deps.js';
import { endSession, redeemLink } from './link-store.js';
import { renderPage } from './views.js';

// GET /dashboard/sign-in?token=… redeems a one-time link and sets the session cookie;
// POST /dashboard/sign-out (CSRF-protected) ends the session on every API process.

const refusals = {
  unknown: 'This sign-in link is not one we issued (check that it was copied whole).',
  used: 'This sign-in link has been used already: each link opens one session. Ask for a new one (`clearcut dashboard link`).',
  expired: 'This sign-in link has expired. Ask for a new one (`clearcut dashboard link`).',
};

export function registerSignInRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  const cookieOptions = {
    path: '/dashboard',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: deps.secureCookies,
  };

  app.get<{ Querystring: { token?: string } }>(
    '/sign-in',
    { config: { access: 'public' } },
    async (request, reply) => {
      const token = request.query.token;
      if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
        return refuse(reply, 400, 'Not a sign-in link', refusals.unknown);
      }
      const now = deps.now();
      const redeemed = await redeemLink(deps.db, token, now);
      if (!redeemed.ok) return refuse(reply, 403, 'Sign-in refused', refusals[redeemed.why]);
      const session = await deps.sessions.issue(redeemed.sessionId, redeemed.scope, now);
      const home = redeemed.scope.tenantId === null ? '/dashboard/admin' : '/dashboard/';
      // A page, not a redirect: a SameSite=Strict cookie set while arriving from another site
      // (a mail client) is sent on the next same-site navigation, which this page makes.
      return reply
        .setCookie(sessionCookie, session.token, { ...cookieOptions, expires: session.expiresAt })
        .type('text/html; charset=utf-8')
        .send(
          renderPage(
            'signed-in',
            { title: 'Signed in', session: undefined, csrf: undefined },
            {
              refresh: home,
              expiresAt: session.expiresAt,
            },
          ),
        );
    },
  );

  app.post(
    '/sign-out',
    { config: { access: 'public' }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const session = optionalSessionOf(request);
      if (session !== undefined) await endSession(deps.db, session.sessionId, deps.now());
      return reply
        .clearCookie(sessionCookie, cookieOptions)
        .type('text/html; charset=utf-8')
        .send(
          renderPage(
            'message',
            { title: 'Signed out', session: undefined, csrf: undefined },
            {
              message: 'Your dashboard session has ended. A new sign-in link opens a new one.',
            },
          ),
        );
    },
  );
}
