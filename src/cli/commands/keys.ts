import { UsageError } from '../../errors.js';
import {
  type CreatedKey,
  createKey,
  type KeyInfo,
  listKeys,
  revokeKey,
  rotateKey,
} from '../../keys/key-admin.js';
import { resealSecrets } from '../../keys/reseal.js';
import { requireMasterKey } from '../../keys/secret-box.js';
import { keyPurposes } from '../../keys/signing-key.js';
import { isKeyId, type KeyAlgorithm } from '../../signing/keys.js';
import { resealWebhookSecrets } from '../../webhooks/reseal.js';
import { choiceOption, durationOption, positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { formatTable, formatTime, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

const algorithms: Record<string, KeyAlgorithm> = {
  hmac: 'hmac-sha256',
  'hmac-sha256': 'hmac-sha256',
  ed25519: 'ed25519',
};

function keyIdArgument(command: string, text: string): string {
  if (!isKeyId(text)) {
    throw new UsageError(
      `clearcut ${command}: "${text}" is not a key id: expected ck_live_ or ck_test_ and 24 letters and digits (see \`clearcut keys list\`)`,
    );
  }
  return text;
}

/** An --expires value: a duration from now, or `never`. */
function expiry(command: string, text: string, now: Date): Date | null {
  if (text === 'never') return null;
  return new Date(now.getTime() + durationOption(command, 'expires', text));
}

/** The one and only time the secret leaves ClearCut. */
function printCreated(
  io: CliIo,
  created: CreatedKey,
  json: boolean,
  intro: string,
  extra: object = {},
): void {
  const { key, shownOnce } = created;
  if (json) {
    printJson(io, { ...key, secret: shownOnce, ...extra });
    return;
  }
  const what =
    key.algorithm === 'hmac-sha256'
      ? 'Secret (shown this once and never again; ClearCut stores it encrypted):'
      : 'Private key (shown this once and never again; ClearCut keeps only the public key):';
  io.out(
    [
      `${intro} ${key.keyId} for tenant ${key.tenantId} (${key.algorithm}, ${key.environment}, expires ${formatTime(key.expiresAt, 'never')}).`,
      '',
      what,
      shownOnce,
      '',
      key.purpose === 'event-source'
        ? `An EventBridge connection sends ${key.keyId} as its client ID and this value as its client secret (docs/events.md).`
        : `Producers sign with CLEARCUT_KEY_ID=${key.keyId} and this value as CLEARCUT_KEY_SECRET.`,
    ].join('\n'),
  );
}

function keyTable(keys: readonly KeyInfo[]): string {
  return formatTable(
    [
      'KEY',
      'TENANT',
      'PURPOSE',
      'ALGORITHM',
      'ENV',
      'STATE',
      'CREATED',
      'EXPIRES',
      'REVOKED',
      'ROTATED FROM',
    ],
    keys.map((key) => [
      key.keyId,
      key.tenantId,
      key.purpose,
      key.algorithm,
      key.environment,
      key.state,
      formatTime(key.createdAt),
      formatTime(key.expiresAt, 'never'),
      formatTime(key.revokedAt),
      key.rotatedFrom ?? '-',
    ]),
  );
}

export const run: Command = (args, io) =>
  runSubcommand(
    'keys',
    'clearcut keys: manage signing keys. Secrets and private keys are printed once, at creation; ClearCut never shows them again. Needs CLEARCUT_MASTER_KEY to create or rotate.',
    {
      create: {
        help: [
          'Usage: clearcut keys create --tenant TENANT [--algo hmac|ed25519] [--purpose signing|event-source] [--env live|test] [--expires DURATION] [--json]',
          '  --tenant    the tenant the key signs for',
          '  --algo      hmac (default: HMAC-SHA256, secret stored encrypted) or ed25519 (only the public key is stored)',
          '  --purpose   signing (default) or event-source: an HMAC key whose id and secret an Amazon EventBridge',
          '              connection sends to POST /oauth/token, for POST /v1/events/s3 only; it signs nothing (docs/events.md)',
          '  --env       live (default) or test: the ck_live_/ck_test_ prefix of the key id',
          '  --expires   lifetime such as 90d or 12h, or never (default)',
          '  --json      print the key and its secret as JSON',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'keys create';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tenant: { type: 'string' },
            algo: { type: 'string', default: 'hmac' },
            purpose: { type: 'string', default: 'signing' },
            env: { type: 'string', default: 'live' },
            expires: { type: 'string', default: 'never' },
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const tenantId = requireOption(command, 'tenant', values.tenant);
          const algorithm = algorithms[choiceOption(command, 'algo', values.algo, Object.keys(algorithms))]!;
          const environment = choiceOption(command, 'env', values.env, ['live', 'test'] as const);
          const purpose = choiceOption(command, 'purpose', values.purpose, keyPurposes);
          if (purpose === 'event-source' && algorithm !== 'hmac-sha256') {
            throw new UsageError(
              `clearcut ${command}: an event-source key is an HMAC key (its secret is what the EventBridge connection sends); drop --algo ${values.algo}`,
            );
          }
          const now = new Date();
          const expiresAt = expiry(command, values.expires, now);
          const created = await withDatabase(io, (db, config) =>
            createKey(
              db,
              requireMasterKey(config.gateway.masterKey),
              { tenantId, purpose, algorithm, environment, expiresAt },
              now,
            ),
          );
          printCreated(io, created, values.json === true, 'Created key');
          return 0;
        },
      },
      list: {
        help: [
          'Usage: clearcut keys list [--tenant TENANT] [--json]',
          '  Key ids, state (active, expired, revoked) and dates; never key material.',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'keys list';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            tenant: { type: 'string' },
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const keys = await withDatabase(io, (db) => listKeys(db, { tenantId: values.tenant }));
          if (values.json) printJson(io, keys);
          else io.out(keyTable(keys));
          return 0;
        },
      },
      rotate: {
        help: [
          'Usage: clearcut keys rotate KEY [--grace DURATION] [--expires DURATION] [--json]',
          '  Creates a new key for the same tenant, algorithm and environment (printed once); the old key',
          '  keeps working for the grace period, then expires.',
          '  --grace     how long the old key keeps working, e.g. 24h (default) or 0s',
          "  --expires   lifetime of the new key, or never (default: the old key's lifetime)",
          '  --json      print the new key and its secret as JSON',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'keys rotate';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            grace: { type: 'string', default: '24h' },
            expires: { type: 'string' },
            json: { type: 'boolean' },
          });
          const keyId = keyIdArgument(command, positionals(command, given, ['key'])[0]!);
          const graceMs = durationOption(command, 'grace', values.grace, { allowZero: true });
          const now = new Date();
          const expiresAt = values.expires === undefined ? undefined : expiry(command, values.expires, now);
          const { previous, created } = await withDatabase(io, (db, config) =>
            rotateKey(db, requireMasterKey(config.gateway.masterKey), keyId, { graceMs, expiresAt }, now),
          );
          if (!values.json) io.out(`Key ${previous.keyId} now expires at ${formatTime(previous.expiresAt)}.`);
          printCreated(io, created, values.json === true, 'Its replacement is', { replaces: previous });
          return 0;
        },
      },
      reseal: {
        help: [
          'Usage: clearcut keys reseal --from-env OLD_VAR [--json]',
          '  Moves every stored HMAC secret (and webhook secret) from the old master key to the new one, in one transaction:',
          '  the old key is read from the environment variable OLD_VAR, the new one from CLEARCUT_MASTER_KEY.',
          '  Refused, with nothing changed, unless OLD_VAR holds the key the secrets are sealed with. Running',
          '  it again after it succeeded changes nothing. Then restart every gateway with the new key.',
          '  --from-env  the name of the variable holding the old key (never the key itself on the command line)',
          '  --json      print the result as JSON',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'keys reseal';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            'from-env': { type: 'string' },
            json: { type: 'boolean' },
          });
          positionals(command, given, []);
          const oldName = requireOption(command, 'from-env', values['from-env']);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(oldName) || oldName === 'CLEARCUT_MASTER_KEY') {
            throw new UsageError(
              `clearcut ${command}: --from-env takes the NAME of the variable holding the old key (not CLEARCUT_MASTER_KEY, which holds the new one), e.g. --from-env OLD_MASTER_KEY`,
            );
          }
          const old = requireMasterKey(io.env[oldName], oldName);
          let webhooks = 0;
          const result = await withDatabase(io, (db, config) =>
            resealSecrets(
              db,
              { old, new: requireMasterKey(config.gateway.masterKey), oldName },
              async (tx, move) => {
                webhooks = await resealWebhookSecrets(tx, move);
              },
            ),
          );
          if (values.json) printJson(io, { ...result, webhookEndpoints: webhooks });
          else if (result.alreadyDone)
            io.out(
              `The stored secrets are already sealed under CLEARCUT_MASTER_KEY (check value ${result.checkValue}); nothing changed.`,
            );
          else
            io.out(
              [
                `Resealed ${result.resealed} HMAC secrets under CLEARCUT_MASTER_KEY (check value ${result.checkValue}).`,
                ...(webhooks > 0 ? [`Resealed the secrets of ${webhooks} webhook endpoints with them.`] : []),
                'Restart every gateway with the new key: one still on the old key holds HMAC jobs (rejecting none) and reports not ready.',
              ].join('\n'),
            );
          return 0;
        },
      },
      revoke: {
        help: [
          'Usage: clearcut keys revoke KEY [--json]',
          '  Revokes the key at once: every running gateway refuses it within a second.',
        ].join('\n'),
        run: async (rest, io) => {
          const command = 'keys revoke';
          const { values, positionals: given } = parseCommandArgs(command, rest, {
            json: { type: 'boolean' },
          });
          const keyId = keyIdArgument(command, positionals(command, given, ['key'])[0]!);
          const { key, alreadyRevoked } = await withDatabase(io, (db) => revokeKey(db, keyId));
          if (values.json) printJson(io, { ...key, alreadyRevoked });
          else if (alreadyRevoked)
            io.out(`Key ${key.keyId} was already revoked at ${formatTime(key.revokedAt)}.`);
          else io.out(`Revoked key ${key.keyId} of tenant ${key.tenantId}.`);
          return 0;
        },
      },
    },
    args,
    io,
  );
