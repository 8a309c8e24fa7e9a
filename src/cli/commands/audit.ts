import { listAudit } from '../../audit/audit.js';
import { UsageError } from '../../errors.js';
import { durationOption, positionals, withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { formatTable, formatTime, printJson } from '../format.js';
import type { Command } from '../io.js';

const help = [
  'Usage: clearcut audit [--tenant TENANT] [--since WHEN] [--limit N] [--json]',
  '',
  'Prints audit rows oldest first: every gateway decision (accepted, rejected with its reason,',
  'duplicate) and every admin change (key.created, key.revoked, grant.added, quota.set, ...).',
  '  --tenant    only this tenant',
  '  --since     a duration back from now (1h, 7d) or an ISO time (2030-01-31T12:00:00Z)',
  '  --limit     at most the newest N rows (default 1000)',
  '  --json      print the rows as JSON',
].join('\n');

function since(text: string, now: Date): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = new Date(text);
    if (Number.isNaN(time.getTime())) {
      throw new UsageError(
        `clearcut audit: --since "${text}" is not a valid ISO time such as 2030-01-31T12:00:00Z`,
      );
    }
    return time;
  }
  return new Date(now.getTime() - durationOption('audit', 'since', text));
}

export const run: Command = async (args, io) => {
  const { values, positionals: given } = parseCommandArgs('audit', args, {
    help: { type: 'boolean', short: 'h' },
    tenant: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string', default: '1000' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  positionals('audit', given, []);
  const limit = Number(values.limit);
  if (!/^\d+$/.test(values.limit) || limit < 1 || limit > 1_000_000) {
    throw new UsageError(`clearcut audit: --limit "${values.limit}" is not a whole number from 1 to 1000000`);
  }
  const query = {
    tenantId: values.tenant,
    since: values.since === undefined ? undefined : since(values.since, new Date()),
    limit,
  };
  const rows = await withDatabase(io, (db) => listAudit(db, query));
  if (values.json) {
    printJson(io, rows);
    return 0;
  }
  io.out(
    formatTable(
      ['TIME', 'SOURCE', 'TENANT', 'KEY', 'MESSAGE', 'OUTCOME', 'REASON', 'DETAIL'],
      rows.map((row) => [
        formatTime(row.at),
        row.source,
        row.tenantId ?? '-',
        row.keyId ?? '-',
        row.messageId ?? '-',
        row.outcome,
        row.reason ?? '-',
        row.detail ?? '',
      ]),
    ),
  );
  return 0;
};
