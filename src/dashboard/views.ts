import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Session } from './session-tokens.js';

// Server-rendered pages: eta templates in ./views (HTML-escaped by default), each inside
// views/layout.eta. Helpers the templates share are passed in with every page's data.

const eta = new Eta({
  views: fileURLToPath(new URL('./views', import.meta.url)),
  cache: true,
  autoEscape: true,
});

export interface PageFrame {
  readonly title: string;
  readonly session: Session | undefined;
  /** The CSRF token of the sign-out form (and any other form on the page). */
  readonly csrf: string | undefined;
  /** Which navigation entry is the current page. */
  readonly current?: string;
}

const helpers = {
  /** "2026-12-03 08:30 UTC": one unambiguous form everywhere. */
  time: (at: Date | null | undefined) =>
    at == null ? '—' : `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  /** JSON safe inside <script type="application/json">: nothing can close the element. */
  json: (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c'),
  percent: (done: number, total: number | null) =>
    total === null || total === 0 ? 0 : Math.floor((done * 100) / total),
};

export type Helpers = typeof helpers;

export function renderPage(template: string, frame: PageFrame, data: Record<string, unknown> = {}): string {
  return eta.render(template, { ...data, ...frame, h: helpers });
}
