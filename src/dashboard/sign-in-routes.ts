import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AuditRow, recordAudit } from '../audit/audit.js';
import { optionalSessionOf, refuse, sessionCookie } from './access.js';
import type { DashboardDeps } from './deps.js';
import { endSession, inspectLink, redeemLink, type SessionScope } from './link-store.js';
import { renderPage } from './views.js';

// GET /dashboard/sign-in?token=… only shows what the link opens, with a button: mail scanners
// that fetch links must not use them up. The button POSTs the token, which redeems it and sets the
// session cookie; the one-time token is the proof, and the POST must come from this site's page
// (no signing a victim in to someone else's session). POST /dashboard/sign-out (CSRF-protected)
// ends the session on every API process.

const refusals = {
  unknown: 'This sign-in link is not one we issued (check that it was copied whole).',
  used: 'This sign-in link has been used already: each link opens one session. Ask for a new one (`clearcut dashboard link`).',
  expired: 'This sign-in link has expired. Ask for a new one (`clearcut dashboard link`).',
  revoked: 'This sign-in link was revoked (`clearcut dashboard revoke`). Ask for a new one.',
};

const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

/** Whether the browser says the request comes from a page of this very origin. */
function fromThisSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = request.headers.origin;
  if (origin === undefined || !URL.canParse(origin)) return false;
  return new URL(origin).host === request.headers.host;
}

function sessionAudit(
  outcome: string,
  { sessionId, scope }: { sessionId: string; scope: SessionScope },
  ip: string,
): AuditRow {
  const who = scope.admin ? 'operator session' : 'tenant session';
  return {
    source: 'api',
    outcome,
    ...(scope.tenantId === null ? {} : { tenantId: scope.tenantId }),
    detail: `${who} ${sessionId} from ${ip}`,
  };
}

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
      if (typeof token !== 'string' || !tokenPattern.test(token)) {
        return refuse(reply, 400, 'Not a sign-in link', refusals.unknown);
      }
      const link = await inspectLink(deps.db, token, deps.now());
      if (!link.ok) return refuse(reply, 403, 'Sign-in refused', refusals[link.why]);
      const who = link.scope.tenantId === null ? 'an operator' : `tenant ${link.scope.tenantId}`;
      return reply
        .type('text/html; charset=utf-8')
        .send(
          renderPage(
            'sign-in',
            { title: `Sign in to ClearCut as ${who}`, session: undefined, csrf: undefined },
            { token, scope: link.scope, expiresAt: link.expiresAt },
          ),
        );
    },
  );

  app.post<{ Body: { token?: unknown } }>(
    '/sign-in',
    { config: { access: 'public' } },
    async (request, reply) => {
      if (!fromThisSite(request)) {
        return refuse(
          reply,
          403,
          'Sign-in refused',
          'Sign in with the button on the sign-in page itself: this request came from another site.',
        );
      }
      const token = request.body?.token;
      if (typeof token !== 'string' || !tokenPattern.test(token)) {
        return refuse(reply, 400, 'Not a sign-in link', refusals.unknown);
      }
      const now = deps.now();
      const redeemed = await deps.db.transaction(async (tx) => {
        const link = await redeemLink(tx, token, now);
        if (link.ok) await recordAudit(tx, [sessionAudit('dashboard.signed_in', link, request.ip)]);
        return link;
      });
      if (!redeemed.ok) return refuse(reply, 403, 'Sign-in refused', refusals[redeemed.why]);
      const session = await deps.sessions.issue(redeemed.sessionId, redeemed.scope, now);
      const home = redeemed.scope.tenantId === null ? '/dashboard/admin' : '/dashboard/';
      // Set on a same-site POST, the SameSite=Strict cookie goes with the redirect's request.
      return reply
        .setCookie(sessionCookie, session.token, { ...cookieOptions, expires: session.expiresAt })
        .redirect(home, 303);
    },
  );

  app.post(
    '/sign-out',
    { config: { access: 'public' }, preHandler: app.csrfProtection },
    async (request, reply) => {
      const session = optionalSessionOf(request);
      if (session !== undefined) {
        await deps.db.transaction(async (tx) => {
          if (await endSession(tx, session.sessionId, deps.now())) {
            await recordAudit(tx, [
              sessionAudit(
                'dashboard.signed_out',
                { sessionId: session.sessionId, scope: session },
                request.ip,
              ),
            ]);
          }
        });
      }
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
