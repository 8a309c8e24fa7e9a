import { UsageError } from '../../errors.js';
import {
  type QuotaChanges,
  type QuotaReport,
  type QuotaSettingName,
  type QuotaValue,
  quotaReport,
  quotaSettingNames,
  quotaValueProblem,
  setQuota,
  tierPresets,
} from '../../policy/quota-settings.js';
import { positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { formatTable, printJson } from '../format.js';
import type { Command } from '../io.js';

/** jobsPerMinute → jobs-per-minute */
const flagOf = (name: QuotaSettingName) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const settingFlags = Object.fromEntries(
  quotaSettingNames.map((name) => [flagOf(name), { type: 'string' }] as const),
);

const meanings: Record<QuotaSettingName, string> = {
  jobsPerMinute: 'jobs per minute the token bucket refills (set with --burst)',
  burst: 'jobs that may arrive at once (token bucket size)',
  imagesPerHour: 'images per UTC hour',
  imagesPerDay: 'images per UTC day',
  imagesPerMonth: 'images per UTC month',
  maxItemsPerJob: 'images one job may list',
  maxInFlight: "the tenant's tasks queued or running at once (fairness window)",
};

function parseValue(command: string, name: QuotaSettingName, text: string): QuotaValue {
  const value: QuotaValue =
    text === 'unlimited'
      ? null
      : text === 'default'
        ? 'default'
        : /^\d+$/.test(text)
          ? Number(text)
          : Number.NaN;
  const problem = quotaValueProblem(name, value);
  if (problem !== undefined)
    throw new UsageError(`clearcut ${command}: --${flagOf(name)} "${text}" ${problem}`);
  return value;
}

const shown = (value: number | null) => (value === null ? 'unlimited' : String(value));

function reportText(report: QuotaReport): string {
  const { policy, overrides, jobTokens, used } = report;
  const usedIn: Partial<Record<QuotaSettingName, number>> = {
    imagesPerHour: used.hour,
    imagesPerDay: used.day,
    imagesPerMonth: used.month,
  };
  const rows = quotaSettingNames.map((name) => [
    flagOf(name),
    shown(policy[name]),
    Object.hasOwn(overrides, name) ? 'tenant' : `tier ${policy.tier}`,
    name === 'burst' && jobTokens !== null
      ? `${Math.floor(jobTokens)} tokens left`
      : usedIn[name] !== undefined
        ? `${usedIn[name]} used`
        : '',
  ]);
  return [
    `Tenant ${policy.tenantId}, tier ${policy.tier}${policy.priority ? ' (priority lane)' : ''}`,
    '',
    formatTable(['SETTING', 'VALUE', 'FROM', 'NOW'], rows),
  ].join('\n');
}

export const run: Command = (args, io) =>
  runSubcommand(
    'quota',
    "clearcut quota: a tenant's limits. Each tenant follows its tier's presets except where its own settings override them.",
    {
      set: {
        help: [
          `Usage: clearcut quota set --tenant TENANT ${quotaSettingNames.map((name) => `[--${flagOf(name)} N]`).join(' ')}`,
          '  Each value is a whole number, "unlimited", or "default" (drop the override, follow the tier again).',
          ...quotaSettingNames.map((name) => `  --${flagOf(name).padEnd(18)} ${meanings[name]}`),
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'quota set';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tenant: { type: 'string' },
            ...settingFlags,
          });
          positionals(command, given, []);
          const tenantId = requireOption(command, 'tenant', values.tenant);
          const flags = values as Record<string, string | undefined>;
          const changes: QuotaChanges = Object.fromEntries(
            quotaSettingNames
              .filter((name) => flags[flagOf(name)] !== undefined)
              .map((name) => [name, parseValue(command, name, flags[flagOf(name)]!)]),
          );
          if (Object.keys(changes).length === 0) {
            throw new UsageError(
              `clearcut ${command}: nothing to set: give at least one of ${quotaSettingNames.map((name) => `--${flagOf(name)}`).join(', ')}`,
            );
          }
          const report = await withDatabase(io, async (db) => {
            await setQuota(db, tenantId, changes);
            return quotaReport(db, tenantId);
          });
          io.out(reportText(report));
          return 0;
        },
      },
      show: {
        help: [
          'Usage: clearcut quota show --tenant TENANT [--json]',
          '  Effective limits, where each comes from (tier or tenant), and current usage.',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'quota show';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tenant: { type: 'string' },
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const tenantId = requireOption(command, 'tenant', values.tenant);
          const report = await withDatabase(io, (db) => quotaReport(db, tenantId));
          if (values.json) printJson(io, report);
          else io.out(reportText(report));
          return 0;
        },
      },
      tiers: {
        help: ['Usage: clearcut quota tiers [--json]', '  The presets of every tier.'].join('\n'),
        run: async (rest, io) => {
          const command = 'quota tiers';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const tiers = await withDatabase(io, (db) => tierPresets(db));
          if (values.json) printJson(io, tiers);
          else {
            io.out(
              formatTable(
                ['TIER', ...quotaSettingNames.map(flagOf), 'PRIORITY'],
                tiers.map((tier) => [
                  tier.tier,
                  ...quotaSettingNames.map((name) => shown(tier[name])),
                  tier.priority ? 'yes' : 'no',
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
