import type { FastifyReply, FastifyRequest } from 'fastify';
import { optionalSessionOf } from './access.js';
import { renderPage } from './views.js';

/** Renders a page with its frame: the session's navigation and a fresh CSRF token for its forms. */
export function showPage(
  request: FastifyRequest,
  reply: FastifyReply,
  template: string,
  frame: { title: string; current?: string },
  data: Record<string, unknown> = {},
): FastifyReply {
  const csrf = reply.generateCsrf();
  const session = optionalSessionOf(request);
  return reply.type('text/html; charset=utf-8').send(renderPage(template, { ...frame, session, csrf }, data));
}
