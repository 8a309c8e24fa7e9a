import { UsageError } from '../../errors.js';
import { PolicyStoreError } from '../../tenants/errors.js';
import { createTenant, listTenants, setTenantTier, tenantIdProblem } from '../../tenants/tenants.js';
import { positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs } from '../args.js';
import { formatTable, formatTime, printJson } from '../format.js';
import type { Command } from '../io.js';

function tenantName(command: string, name: string): string {
  const problem = tenantIdProblem(name);
  if (problem !== undefined) throw new UsageError(`clearcut ${command}: tenant name "${name}" ${problem}`);
  return name;
}

/** An unknown tier is a wrong command line (exit 2), like a wrong name, though only the database knows the tiers. */
async function withTier<T>(command: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof PolicyStoreError && error.code === 'unknown_tier')
      throw new UsageError(`clearcut ${command}: ${error.message}`);
    throw error;
  }
}

export const run: Command = (args, io) =>
  runSubcommand(
    'tenants',
    'clearcut tenants: manage tenants. A tenant owns keys, grants and quotas; its tier sets its quota presets (`clearcut quota tiers`).',
    {
      create: {
        help: [
          'Usage: clearcut tenants create NAME [--tier TIER] [--json]',
          '  NAME        2–63 characters: a lowercase letter, then lowercase letters, digits or hyphens',
          '  --tier      free (default), pro, enterprise or unlimited',
          '  --json      print the tenant as JSON',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'tenants create';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tier: { type: 'string', default: 'free' },
            json: { type: 'boolean' },
          });
          const [name] = positionals(command, given, ['name']);
          const id = tenantName(command, name!);
          const tenant = await withTier(
            command,
            withDatabase(io, (db) => createTenant(db, id, values.tier)),
          );
          if (values.json) printJson(io, tenant);
          else io.out(`Created tenant ${tenant.id} on tier ${tenant.tier}.`);
          return 0;
        },
      },
      list: {
        help: ['Usage: clearcut tenants list [--json]', '  --json      print the tenants as JSON'].join('\n'),
        run: async (rest, io) => {
          const command = 'tenants list';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const tenants = await withDatabase(io, (db) => listTenants(db));
          if (values.json) printJson(io, tenants);
          else {
            io.out(
              formatTable(
                ['TENANT', 'TIER', 'CREATED'],
                tenants.map((tenant) => [tenant.id, tenant.tier, formatTime(tenant.createdAt)]),
              ),
            );
          }
          return 0;
        },
      },
      'set-tier': {
        help: [
          'Usage: clearcut tenants set-tier NAME TIER',
          "  Moves the tenant to another tier's presets; its own `clearcut quota set` overrides stay.",
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'tenants set-tier';
          const { positionals: given } = parseCommandArgs(command, rest, {});
          const [name, tier] = positionals(command, given, ['name', 'tier']);
          const id = tenantName(command, name!);
          const { previous } = await withTier(
            command,
            withDatabase(io, (db) => setTenantTier(db, id, tier!)),
          );
          io.out(`Tenant ${id}: tier ${previous} → ${tier}.`);
          return 0;
        },
      },
    },
    args,
    io,
  );
