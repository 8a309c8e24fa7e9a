import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Queryable } from '../db/database.js';
import { sessionActive } from './link-store.js';
import type { Session, SessionTokens } from './session-tokens.js';
import { renderPage } from './views.js';

// Who may see a page: `public` (sign-in, assets), `tenant` (a session with a tenant), `admin`
// (an operator session). Set per route as config.access; checked before the handler runs.

export type Access = 'public' | 'tenant' | 'admin';
export const sessionCookie = 'clearcut_dashboard';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

const sessions = new WeakMap<FastifyRequest, Session>();

/** The session of a page that requires one. */
export function sessionOf(request: FastifyRequest): Session {
  const session = sessions.get(request);
  if (session === undefined) throw new Error('dashboard route without access check');
  return session;
}

export function optionalSessionOf(request: FastifyRequest): Session | undefined {
  return sessions.get(request);
}

/** The tenant of a tenant page (access 'tenant' guarantees one). */
export function tenantOf(request: FastifyRequest): string {
  const { tenantId } = sessionOf(request);
  if (tenantId === null) throw new Error('tenant page without a tenant');
  return tenantId;
}

export function accessCheck(deps: { db: Queryable; sessions: SessionTokens; now: () => Date }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const access = request.routeOptions.config.access ?? 'tenant';
    const token = request.cookies[sessionCookie];
    const session = token === undefined ? undefined : await deps.sessions.verify(token, deps.now());
    const active = session !== undefined && (await sessionActive(deps.db, session.sessionId));
    if (active) sessions.set(request, session);
    if (access === 'public') return;
    if (!active) {
      return refuse(
        reply,
        401,
        'Sign in first',
        'This page needs a dashboard session. Ask an operator for a sign-in link (`clearcut dashboard link --tenant YOUR-TENANT`), or run that command yourself; each link works once, for a short time.',
      );
    }
    if (access === 'admin' && !session.admin) {
      return refuse(
        reply,
        403,
        'Operators only',
        'Operator pages need a session opened by `clearcut dashboard link --admin`.',
      );
    }
    if (access === 'tenant' && session.tenantId === null) {
      return refuse(
        reply,
        403,
        'No tenant in this session',
        'This operator session has no tenant: open tenant pages with `clearcut dashboard link --admin --tenant TENANT`.',
      );
    }
  };
}

export function refuse(reply: FastifyReply, status: number, title: string, message: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(renderPage('message', { title, session: undefined, csrf: undefined }, { message }));
}
