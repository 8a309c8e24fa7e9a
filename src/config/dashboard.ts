import { z } from 'zod';
import { optionalVariable, section, variable } from './define.js';
import { duration, url } from './parsers.js';

/** `name=url` or a bare url (named by its host and port), comma-separated. */
const processList = z.string().transform((text, ctx) => {
  const entries: { name: string; url: string }[] = [];
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const [name, address] = part.includes('=') ? part.split(/=(.*)/s, 2) : [undefined, part];
    const parsed = url(['http', 'https']).safeParse(address);
    if (!parsed.success || (name !== undefined && !/^[\w.-]{1,64}$/.test(name))) {
      ctx.addIssue({ code: 'custom', message: `not a process: ${part}` });
      return z.NEVER;
    }
    const base = new URL(parsed.data);
    entries.push({ name: name ?? base.host, url: base.origin });
  }
  return entries;
});

export const dashboardSection = section(
  {
    CLEARCUT_API_PUBLIC_URL: optionalVariable({
      doc: 'Base URL at which browsers reach `clearcut api`, used in the sign-in links `clearcut dashboard link` prints; an https:// URL also marks the dashboard cookies Secure. Unset: http://localhost:<CLEARCUT_API_PORT>.',
      expected: 'an http:// or https:// URL such as https://clearcut.example.com',
      schema: url(['http', 'https']),
    }),
    CLEARCUT_DASHBOARD_LINK_TTL: variable({
      doc: 'How long a dashboard sign-in link stays usable when `clearcut dashboard link` is given no --ttl (each link works once).',
      expected: 'a duration from 1m to 24h, such as 15m',
      default: '15m',
      schema: duration(60_000).refine((ms) => ms <= 86_400_000),
    }),
    CLEARCUT_DASHBOARD_SESSION_TTL: variable({
      doc: 'Lifetime of a dashboard session opened by a sign-in link; afterwards a new link is needed.',
      expected: 'a duration from 1m to 24h, such as 1h',
      default: '1h',
      schema: duration(60_000).refine((ms) => ms <= 86_400_000),
    }),
    CLEARCUT_DASHBOARD_PROCESSES: optionalVariable({
      doc: "Processes whose /readyz and /metrics the dashboard's operator page reads (gateways, workers, event consumers): comma-separated base URLs of their ops ports, each optionally named, such as gateway=http://gateway:9090,worker-1=http://worker-1:9091. Unset: none.",
      expected: 'comma-separated [name=]http(s)://host:port entries',
      schema: processList,
    }),
  },
  (v) => ({
    publicUrl: v.CLEARCUT_API_PUBLIC_URL?.replace(/\/+$/, ''),
    linkTtlMs: v.CLEARCUT_DASHBOARD_LINK_TTL,
    sessionTtlMs: v.CLEARCUT_DASHBOARD_SESSION_TTL,
    processes: v.CLEARCUT_DASHBOARD_PROCESSES ?? [],
  }),
);
