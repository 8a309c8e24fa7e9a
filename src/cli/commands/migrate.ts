import { migrate } from '../../db/migrate.js';
import { positionals, withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { printJson } from '../format.js';
import type { Command } from '../io.js';

const help = [
  'Usage: clearcut migrate [--json]',
  '',
  'Applies the pending PostgreSQL migrations to CLEARCUT_DATABASE_SCHEMA (created if missing), each',
  'in its own transaction. Safe to run from several processes at once; refuses to run when an',
  'applied migration file was changed.',
  '  --json      print {"schema": ..., "applied": [...]}',
].join('\n');

export const run: Command = async (args, io) => {
  const { values, positionals: given } = parseCommandArgs('migrate', args, {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(help);
    return 0;
  }
  positionals('migrate', given, []);
  const { schema, applied } = await withDatabase(io, async (db, config) => ({
    schema: config.database.schema,
    ...(await migrate(db)),
  }));
  if (values.json) printJson(io, { schema, applied });
  else if (applied.length === 0) io.out(`Schema ${schema} is up to date.`);
  else io.out([`Applied to schema ${schema}:`, ...applied.map((name) => `  ${name}`)].join('\n'));
  return 0;
};
