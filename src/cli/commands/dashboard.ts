import { issueSignInLink, revokeDashboardAccess } from '../../dashboard/sign-in-link.js';
import { UsageError } from '../../errors.js';
import { durationOption, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { formatTime } from '../format.js';
import type { Command } from '../io.js';

const maxTtlMs = 86_400_000;

export const run: Command = (args, io) =>
  runSubcommand(
    'dashboard',
    'clearcut dashboard: the usage and jobs dashboard that `clearcut api` serves under /dashboard (docs/dashboard.md).',
    {
      link: {
        help: [
          'Usage: clearcut dashboard link --tenant TENANT [--ttl 15m] [--admin]',
          '       clearcut dashboard link --admin [--ttl 15m]',
          '  Prints a one-time sign-in URL: opening it signs the browser in for CLEARCUT_DASHBOARD_SESSION_TTL.',
          '  The link works once and expires after --ttl. Its base is CLEARCUT_API_PUBLIC_URL',
          '  (default http://localhost:<CLEARCUT_API_PORT>).',
          '  --tenant    the tenant whose usage, jobs, keys and audit trail the session shows',
          '  --ttl       how long the link stays usable, 1m to 24h (default CLEARCUT_DASHBOARD_LINK_TTL)',
          '  --admin     an operator session: tenants by usage, rejections, queues, dead letters, processes',
        ].join('\n'),
        run: async (rest, io) => {
          const { values } = parseCommandArgs(
            'dashboard link',
            rest,
            { tenant: { type: 'string' }, ttl: { type: 'string' }, admin: { type: 'boolean' } },
            { positionals: false },
          );
          const admin = values.admin === true;
          if (values.tenant === undefined && !admin) {
            throw new UsageError('clearcut dashboard link: give --tenant TENANT, --admin, or both');
          }
          const ttlMs =
            values.ttl === undefined ? undefined : durationOption('dashboard link', 'ttl', values.ttl);
          if (ttlMs !== undefined && (ttlMs < 60_000 || ttlMs > maxTtlMs)) {
            throw new UsageError(`clearcut dashboard link: --ttl "${values.ttl}" must be from 1m to 24h`);
          }
          const link = await withDatabase(io, (db, config) =>
            issueSignInLink(db, config, {
              tenantId: values.tenant ?? null,
              admin,
              ttlMs: ttlMs ?? config.dashboard.linkTtlMs,
            }),
          );
          io.out(link.url);
          io.err(
            `One sign-in, until ${formatTime(link.expiresAt)}. Anyone with the link can use it: send it privately.`,
          );
          return 0;
        },
      },
      revoke: {
        help: [
          'Usage: clearcut dashboard revoke --tenant TENANT',
          '       clearcut dashboard revoke --all',
          "  Ends the tenant's dashboard sessions (operator sessions opened with --tenant TENANT too) and",
          '  revokes its sign-in links not used yet; --all does so for every tenant and operator. Takes',
          '  effect on the next request of each open page. Audited as dashboard.revoked.',
        ].join('\n'),
        run: async (rest, io) => {
          const { values } = parseCommandArgs(
            'dashboard revoke',
            rest,
            { tenant: { type: 'string' }, all: { type: 'boolean' } },
            { positionals: false },
          );
          const all = values.all === true;
          if ((values.tenant === undefined) === !all) {
            throw new UsageError('clearcut dashboard revoke: give either --tenant TENANT or --all');
          }
          const revoked = await withDatabase(io, (db) => revokeDashboardAccess(db, values.tenant ?? null));
          io.out(
            `${all ? 'Everyone' : values.tenant}: ${revoked.sessions} sessions ended, ${revoked.links} unused links revoked.`,
          );
          return 0;
        },
      },
    },
    args,
    io,
  );
