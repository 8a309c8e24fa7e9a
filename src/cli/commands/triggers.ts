import { parseS3Uri } from '../../contracts/object-keys.js';
import { parseRenditionShorthand } from '../../contracts/renditions.js';
import { errorMessage, UsageError } from '../../errors.js';
import { catalogFor } from '../../models/catalog.js';
import { allows, loadGrants } from '../../policy/grants.js';
import { requireTenant } from '../../tenants/tenants.js';
import {
  addRuleNotification,
  minioClient,
  removeRuleNotification,
} from '../../triggers/minio-notification.js';
import type { TriggerRule } from '../../triggers/trigger-rule.js';
import {
  addTrigger,
  getTrigger,
  listTriggers,
  removeTrigger,
  setTriggerEnabled,
  TriggerRuleError,
} from '../../triggers/trigger-store.js';
import { positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { formatTable, formatTime, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

const addHelp = `Usage: clearcut triggers add --tenant TENANT --bucket BUCKET [--prefix P] [--suffix .jpg,.png]
                             --output s3://BUCKET/PREFIX/ [--rendition LIST] [--model M] [--minio-arn ARN]
  Every object created in BUCKET under P (and ending in one of the suffixes) becomes a job of TENANT,
  under its grants and quotas, exactly like a signed job.
  --prefix      plain key prefix as S3 filters use it (default: the whole bucket)
  --suffix      comma-separated, case-sensitive key endings (repeatable; default: any key)
  --output      where the renditions go: a folder (ending in "/") or a whole bucket
  --rendition   kind[:format],... e.g. cutout,mask or cutout:webp,white:jpeg (default cutout)
  --model       model name (default: the deployment's CLEARCUT_MODEL when the event arrives)
  --minio-arn   also configure the bucket's MinIO notification (s3:ObjectCreated:* with the same
                filters) to this notify_amqp target, e.g. arn:minio:sqs::clearcut:amqp; other
                notification entries of the bucket are kept`;

const idHelp = (verb: string, what: string) => `Usage: clearcut triggers ${verb} ID\n  ${what}`;

function ruleId(command: string, given: string[]): string {
  const [id] = positionals(command, given, ['id']);
  if (!/^[1-9]\d{0,17}$/.test(id!)) {
    throw new UsageError(
      `clearcut ${command}: "${id}" is not a trigger id (a number from \`clearcut triggers list\`)`,
    );
  }
  return id!;
}

function parseOutput(command: string, uri: string): { bucket: string; prefix: string } {
  try {
    const { bucket, path } = parseS3Uri(uri);
    return { bucket, prefix: path };
  } catch (error) {
    throw new UsageError(`clearcut ${command}: --output ${errorMessage(error)}`);
  }
}

async function add(rest: string[], io: CliIo): Promise<number> {
  const command = 'triggers add';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    tenant: { type: 'string' },
    bucket: { type: 'string' },
    prefix: { type: 'string', default: '' },
    suffix: { type: 'string', multiple: true },
    output: { type: 'string' },
    rendition: { type: 'string' },
    model: { type: 'string' },
    'minio-arn': { type: 'string' },
    json: { type: 'boolean' },
  });
  positionals(command, given, []);
  const tenantId = requireOption(command, 'tenant', values.tenant);
  const bucket = requireOption(command, 'bucket', values.bucket);
  const output = parseOutput(command, requireOption(command, 'output', values.output));
  const suffixes = (values.suffix ?? []).flatMap((list) => list.split(',').map((s) => s.trim()));
  let renditions: unknown;
  try {
    renditions = values.rendition === undefined ? undefined : parseRenditionShorthand(values.rendition);
  } catch (error) {
    throw new UsageError(`clearcut ${command}: --rendition ${errorMessage(error)}`);
  }
  const arn = values['minio-arn'];
  if (arn !== undefined && !/^arn:[a-z0-9-]+:sqs:[^:\s]*:[^:\s]+:[^:\s]+$/.test(arn)) {
    throw new UsageError(
      `clearcut ${command}: --minio-arn "${arn}" is not a queue ARN such as arn:minio:sqs::clearcut:amqp (see \`mc admin info --json ALIAS\`)`,
    );
  }
  return withDatabase(io, async (db, config) => {
    // The models this deployment serves, as every front door checks them.
    const catalog = catalogFor(config);
    if (values.model !== undefined && !catalog.has(values.model)) {
      throw new UsageError(`clearcut ${command}: --model: ${catalog.unknownModelMessage(values.model)}`);
    }
    const client = arn === undefined ? undefined : minioClient(config.storage);
    let rule: TriggerRule;
    try {
      rule = await addTrigger(db, {
        tenantId,
        bucket,
        prefix: values.prefix,
        suffixes,
        output,
        renditions,
        ...(values.model === undefined ? {} : { model: values.model }),
        ...(arn === undefined ? {} : { minioArn: arn }),
      });
    } catch (error) {
      if (error instanceof TriggerRuleError) throw new UsageError(`clearcut ${command}: ${error.message}`);
      throw error;
    }
    if (client && arn) {
      try {
        await addRuleNotification(client, { ruleId: rule.id, bucket, arn, prefix: rule.prefix, suffixes });
      } catch (error) {
        await removeTrigger(db, rule.id);
        throw new Error(
          `could not configure the notification of bucket ${bucket} (${errorMessage(error)}); trigger not added`,
        );
      }
    }
    // Grants are checked for every event; a rule the tenant's grants do not cover would reject them all.
    const grants = await loadGrants(db, tenantId);
    if (!allows(grants, { bucket, prefix: rule.prefix }, 'read')) {
      io.err(
        `warning: ${tenantId} has no read grant on s3://${bucket}/${rule.prefix}: its events will be rejected (clearcut grants add)`,
      );
    }
    if (!allows(grants, output, 'write')) {
      io.err(
        `warning: ${tenantId} has no write grant on s3://${output.bucket}/${output.prefix}: its events will be rejected`,
      );
    }
    if (values.json) printJson(io, rule);
    else io.out(`Added trigger ${rule.id}: ${describe(rule)}${arn ? `; bucket notification → ${arn}` : ''}.`);
    return 0;
  });
}

function describe(rule: TriggerRule): string {
  const suffixes = rule.suffixes.length === 0 ? '' : ` (${rule.suffixes.join(', ')})`;
  return `s3://${rule.bucket}/${rule.prefix}*${suffixes} → s3://${rule.output.bucket}/${rule.output.prefix} for ${rule.tenantId}`;
}

async function list(rest: string[], io: CliIo): Promise<number> {
  const command = 'triggers list';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    tenant: { type: 'string' },
    json: { type: 'boolean' },
  });
  positionals(command, given, []);
  const rules = await withDatabase(io, async (db) => {
    if (values.tenant !== undefined) await requireTenant(db, values.tenant);
    return listTriggers(db, values.tenant === undefined ? {} : { tenantId: values.tenant });
  });
  if (values.json) printJson(io, rules);
  else {
    io.out(
      formatTable(
        ['ID', 'TENANT', 'STATE', 'INPUT', 'SUFFIXES', 'OUTPUT', 'RENDITIONS', 'MODEL', 'CREATED'],
        rules.map((rule) => [
          rule.id,
          rule.tenantId,
          rule.enabled ? 'enabled' : 'disabled',
          `s3://${rule.bucket}/${rule.prefix}`,
          rule.suffixes.join(',') || '(any)',
          `s3://${rule.output.bucket}/${rule.output.prefix}`,
          rule.renditions.map((r) => `${r.kind}:${r.format}`).join(','),
          rule.model ?? '(default)',
          formatTime(rule.createdAt),
        ]),
      ),
    );
  }
  return 0;
}

async function remove(rest: string[], io: CliIo): Promise<number> {
  const command = 'triggers remove';
  const id = ruleId(command, parseCommandArgs(command, rest, {}).positionals);
  return withDatabase(io, async (db, config) => {
    const rule = await getTrigger(db, id);
    if (!rule)
      throw new UsageError(`clearcut ${command}: there is no trigger ${id} (see \`clearcut triggers list\`)`);
    // The bucket notification first: if MinIO is unreachable, the rule stays and the command can be repeated.
    if (rule.minioArn !== undefined)
      await removeRuleNotification(minioClient(config.storage), rule.bucket, id);
    await removeTrigger(db, id);
    io.out(
      `Removed trigger ${id}: ${describe(rule)}${rule.minioArn ? '; bucket notification entries removed' : ''}.`,
    );
    return 0;
  });
}

async function setEnabled(verb: 'enable' | 'disable', rest: string[], io: CliIo): Promise<number> {
  const command = `triggers ${verb}`;
  const id = ruleId(command, parseCommandArgs(command, rest, {}).positionals);
  const rule = await withDatabase(io, (db) => setTriggerEnabled(db, id, verb === 'enable'));
  if (!rule)
    throw new UsageError(`clearcut ${command}: there is no trigger ${id} (see \`clearcut triggers list\`)`);
  io.out(`Trigger ${id} ${verb}d: ${describe(rule)}.`);
  return 0;
}

export const run: Command = (args, io) =>
  runSubcommand(
    'triggers',
    'clearcut triggers: rules that turn S3 "object created" events into jobs (see docs/events.md).',
    {
      add: { help: addHelp, run: add },
      list: {
        help: "Usage: clearcut triggers list [--tenant TENANT] [--json]\n  Every rule, or one tenant's.",
        run: list,
      },
      remove: {
        help: idHelp('remove', 'Deletes the rule (and its MinIO notification entries, if it made them).'),
        run: remove,
      },
      disable: {
        help: idHelp(
          'disable',
          'Stops the rule from making jobs; its output prefix still counts for loop protection.',
        ),
        run: (rest, io) => setEnabled('disable', rest, io),
      },
      enable: {
        help: idHelp('enable', 'Lets a disabled rule make jobs again.'),
        run: (rest, io) => setEnabled('enable', rest, io),
      },
    },
    args,
    io,
  );
