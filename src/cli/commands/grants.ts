import { UsageError } from '../../errors.js';
import { addGrant, grantProblem, removeGrant } from '../../policy/grant-admin.js';
import { type Grant, grantAccesses, loadGrants } from '../../policy/grants.js';
import { requireTenant } from '../../tenants/tenants.js';
import { choiceOption, positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { formatTable, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

const grantOptions = {
  tenant: { type: 'string' },
  bucket: { type: 'string' },
  prefix: { type: 'string', default: '' },
  access: { type: 'string' },
} as const;

const grantHelp = (verb: 'add' | 'remove', what: string) =>
  [
    `Usage: clearcut grants ${verb} --tenant TENANT --bucket BUCKET [--prefix PREFIX] --access read|write`,
    `  ${what}`,
    '  --prefix    a folder ending in "/" (default: the whole bucket); a grant on a/ covers a/x, never ab/x',
    '  --access    read (job inputs) or write (job outputs); one does not imply the other',
  ].join('\n');

function parseGrant(command: string, rest: string[]): { tenantId: string; grant: Grant } {
  const { values, positionals: given } = parseCommandArgs(command, rest, grantOptions);
  positionals(command, given, []);
  const tenantId = requireOption(command, 'tenant', values.tenant);
  const grant: Grant = {
    bucket: requireOption(command, 'bucket', values.bucket),
    prefix: values.prefix,
    access: choiceOption(command, 'access', requireOption(command, 'access', values.access), grantAccesses),
  };
  const problem = grantProblem(grant);
  if (problem !== undefined) throw new UsageError(`clearcut ${command}: ${problem}`);
  return { tenantId, grant };
}

const describe = ({ bucket, prefix, access }: Grant) => `${access} on s3://${bucket}/${prefix}`;

async function change(command: string, verb: 'add' | 'remove', rest: string[], io: CliIo): Promise<number> {
  const { tenantId, grant } = parseGrant(command, rest);
  const changed = await withDatabase(io, (db) =>
    (verb === 'add' ? addGrant : removeGrant)(db, tenantId, grant),
  );
  if (verb === 'add')
    io.out(
      changed ? `Granted ${tenantId} ${describe(grant)}.` : `${tenantId} already has ${describe(grant)}.`,
    );
  else
    io.out(
      changed
        ? `Removed ${describe(grant)} from ${tenantId}.`
        : `${tenantId} has no grant ${describe(grant)}; nothing removed.`,
    );
  return 0;
}

export const run: Command = (args, io) =>
  runSubcommand(
    'grants',
    'clearcut grants: which buckets and folders a tenant may read (job inputs) and write (job outputs). The gateway and the workers check them.',
    {
      add: {
        help: grantHelp('add', 'Grants access; adding a grant the tenant has changes nothing.'),
        run: (rest, io) => change('grants add', 'add', rest, io),
      },
      remove: {
        help: grantHelp('remove', 'Removes exactly this grant; narrower or wider grants stay.'),
        run: (rest, io) => change('grants remove', 'remove', rest, io),
      },
      list: {
        help: [
          'Usage: clearcut grants list --tenant TENANT [--json]',
          '  --json      print the grants as JSON',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'grants list';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tenant: { type: 'string' },
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const tenantId = requireOption(command, 'tenant', values.tenant);
          const grants = await withDatabase(io, async (db) => {
            await requireTenant(db, tenantId);
            return loadGrants(db, tenantId);
          });
          if (values.json) printJson(io, grants);
          else {
            io.out(
              formatTable(
                ['BUCKET', 'PREFIX', 'ACCESS'],
                grants.map((grant) => [
                  grant.bucket,
                  grant.prefix === '' ? '(whole bucket)' : grant.prefix,
                  grant.access,
                ]),
              ),
            );
          }
          return 0;
        },
      },
    },
    args,
    io,
  );
