import { type WebhookEventType, webhookEventTypes } from '../../contracts/webhook-event.js';
import { UsageError } from '../../errors.js';
import { requireMasterKey } from '../../keys/secret-box.js';
import {
  addWebhookEndpoint,
  removeWebhookEndpoint,
  rotateWebhookSecret,
  setWebhookEndpointEnabled,
  WebhookAdminError,
} from '../../webhooks/endpoint-admin.js';
import {
  listWebhookEndpoints,
  recentWebhookDeliveries,
  type WebhookDelivery,
  type WebhookEndpoint,
} from '../../webhooks/store.js';
import { positionals, runSubcommand, withDatabase } from '../admin.js';
import { parseCommandArgs, requireOption } from '../args.js';
import { formatTable, formatTime, printJson } from '../format.js';
import type { CliIo, Command } from '../io.js';

const addHelp = `Usage: clearcut webhooks add --tenant TENANT --url URL [--events job.completed,item.failed] [--json]
  Sends TENANT's events to URL, signed per the Standard Webhooks specification (docs/webhooks.md).
  Prints the signing secret (whsec_...) once: give it to the receiver, it is never shown again.
  --url      https:// (http:// only with CLEARCUT_WEBHOOKS_ALLOW_HTTP); no user or password; every
             address the host resolves to must be public (CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)
  --events   comma-separated, any of ${webhookEventTypes.join(', ')} (default: all)`;

const listHelp = `Usage: clearcut webhooks list [--tenant TENANT] [--json]
  Every endpoint, or one tenant's: state (a disabled one says why), events, URL.`;

const deliveriesHelp = `Usage: clearcut webhooks deliveries [--tenant TENANT | --endpoint ID] [--limit N] [--json]
  The delivery log, newest first: one line per attempt (time, status code, latency, error or the
  first bytes of the answer); a delivery not yet attempted shows as attempt "-". --limit counts
  deliveries (default 20, at most 1000).`;

const idHelp = (verb: string, what: string) => `Usage: clearcut webhooks ${verb} ID\n  ${what}`;

function endpointId(command: string, given: string[]): string {
  const [id] = positionals(command, given, ['id']);
  if (!/^wh_[A-Za-z0-9_-]{16}$/.test(id!)) {
    throw new UsageError(
      `clearcut ${command}: "${id}" is not a webhook endpoint id (wh_ and 16 characters, from \`clearcut webhooks list\`)`,
    );
  }
  return id!;
}

function parseEvents(command: string, lists: string[] | undefined): WebhookEventType[] {
  if (lists === undefined) return [...webhookEventTypes];
  const names = lists.flatMap((list) => list.split(',').map((name) => name.trim()));
  for (const name of names) {
    if (!(webhookEventTypes as readonly string[]).includes(name)) {
      throw new UsageError(
        `clearcut ${command}: --events "${name}" is not an event type: expected ${webhookEventTypes.join(', ')}`,
      );
    }
  }
  return [...new Set(names)] as WebhookEventType[];
}

/** Refusals that are the operator's input (URL, id, limits) are usage errors, with their message. */
async function asUsage<T>(command: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WebhookAdminError) throw new UsageError(`clearcut ${command}: ${error.message}`);
    throw error;
  }
}

async function add(rest: string[], io: CliIo): Promise<number> {
  const command = 'webhooks add';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    tenant: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  positionals(command, given, []);
  const tenantId = requireOption(command, 'tenant', values.tenant);
  const url = requireOption(command, 'url', values.url);
  const events = parseEvents(command, values.events);
  const { endpoint, secret } = await withDatabase(io, (db, config) =>
    asUsage(command, () =>
      addWebhookEndpoint(
        db,
        requireMasterKey(config.gateway.masterKey),
        { allowHttp: config.webhooks.allowHttp, allowPrivate: config.webhooks.allowPrivateAddresses },
        { tenantId, url, events },
      ),
    ),
  );
  if (values.json) printJson(io, { ...endpoint, secret });
  else {
    io.out(
      `Added webhook ${endpoint.id} for ${endpoint.tenantId}: ${endpoint.url} (${endpoint.events.join(', ')}).`,
    );
    io.out(`Signing secret (shown once; give it to the receiver): ${secret}`);
  }
  return 0;
}

function state(endpoint: WebhookEndpoint): string {
  return endpoint.enabled ? 'enabled' : `disabled: ${endpoint.disabledReason ?? 'by an operator'}`;
}

async function list(rest: string[], io: CliIo): Promise<number> {
  const command = 'webhooks list';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    tenant: { type: 'string' },
    json: { type: 'boolean' },
  });
  positionals(command, given, []);
  const endpoints = await withDatabase(io, (db) =>
    listWebhookEndpoints(db, { tenantId: values.tenant ?? null }),
  );
  if (values.json) printJson(io, endpoints);
  else {
    io.out(
      formatTable(
        ['ID', 'TENANT', 'STATE', 'EVENTS', 'URL', 'CREATED', 'FAILING SINCE'],
        endpoints.map((endpoint) => [
          endpoint.id,
          endpoint.tenantId,
          state(endpoint),
          endpoint.events.join(','),
          endpoint.url,
          formatTime(endpoint.createdAt),
          formatTime(endpoint.failingSince),
        ]),
      ),
    );
  }
  return 0;
}

async function remove(rest: string[], io: CliIo): Promise<number> {
  const command = 'webhooks remove';
  const id = endpointId(command, parseCommandArgs(command, rest, {}).positionals);
  const endpoint = await withDatabase(io, (db) => asUsage(command, () => removeWebhookEndpoint(db, id)));
  io.out(
    `Removed webhook ${id} (${endpoint.tenantId}: ${endpoint.url}); its pending deliveries will not be sent.`,
  );
  return 0;
}

async function rotate(rest: string[], io: CliIo): Promise<number> {
  const command = 'webhooks rotate-secret';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    'no-grace': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const id = endpointId(command, given);
  const { endpoint, secret } = await withDatabase(io, (db, config) =>
    asUsage(command, () =>
      rotateWebhookSecret(
        db,
        requireMasterKey(config.gateway.masterKey),
        id,
        // A leaked secret must stop signing now, not after the grace period.
        values['no-grace'] ? 0 : config.webhooks.rotationGraceMs,
      ),
    ),
  );
  if (values.json) printJson(io, { ...endpoint, secret });
  else {
    const grace =
      endpoint.previousSecretUntil === null
        ? 'The old secret no longer signs.'
        : `Until ${formatTime(endpoint.previousSecretUntil)} deliveries carry a signature with the old secret too.`;
    io.out(`New signing secret for webhook ${id} (shown once): ${secret}\n${grace}`);
  }
  return 0;
}

async function setEnabled(verb: 'enable' | 'disable', rest: string[], io: CliIo): Promise<number> {
  const command = `webhooks ${verb}`;
  const id = endpointId(command, parseCommandArgs(command, rest, {}).positionals);
  const endpoint = await withDatabase(io, (db) =>
    asUsage(command, () => setWebhookEndpointEnabled(db, id, verb === 'enable')),
  );
  io.out(`Webhook ${id} ${verb}d (${endpoint.tenantId}: ${endpoint.url}).`);
  return 0;
}

function attemptRows(delivery: WebhookDelivery): string[][] {
  const about = [delivery.id, delivery.endpointId, delivery.eventType, delivery.messageId, delivery.status];
  if (delivery.log.length === 0) return [[...about, '-', formatTime(delivery.nextAttemptAt), '-', '-', '']];
  return delivery.log.map((attempt) => [
    ...about,
    String(attempt.attempt),
    formatTime(attempt.attemptedAt),
    attempt.statusCode === null ? '-' : String(attempt.statusCode),
    `${attempt.latencyMs}ms`,
    (attempt.error ?? attempt.responseSnippet ?? '').replace(/\s+/g, ' ').slice(0, 80),
  ]);
}

async function deliveries(rest: string[], io: CliIo): Promise<number> {
  const command = 'webhooks deliveries';
  const { values, positionals: given } = parseCommandArgs(command, rest, {
    tenant: { type: 'string' },
    endpoint: { type: 'string' },
    limit: { type: 'string', default: '20' },
    json: { type: 'boolean' },
  });
  positionals(command, given, []);
  if (values.endpoint !== undefined) endpointId(command, [values.endpoint]);
  if (!/^\d{1,4}$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 1000) {
    throw new UsageError(
      `clearcut ${command}: --limit "${values.limit}" is not a whole number from 1 to 1000`,
    );
  }
  const found = await withDatabase(io, (db) =>
    recentWebhookDeliveries(db, {
      tenantId: values.tenant ?? null,
      ...(values.endpoint === undefined ? {} : { endpointId: values.endpoint }),
      limit: Number(values.limit),
    }),
  );
  if (values.json) printJson(io, found);
  else {
    io.out(
      formatTable(
        [
          'DELIVERY',
          'ENDPOINT',
          'EVENT',
          'WEBHOOK-ID',
          'STATUS',
          'ATTEMPT',
          'AT',
          'CODE',
          'LATENCY',
          'ERROR OR ANSWER',
        ],
        found.flatMap(attemptRows),
      ),
    );
  }
  return 0;
}

export const run: Command = (args, io) =>
  runSubcommand(
    'webhooks',
    'clearcut webhooks: signed HTTP callbacks of job events (see docs/webhooks.md).',
    {
      add: { help: addHelp, run: add },
      list: { help: listHelp, run: list },
      remove: {
        help: idHelp('remove', 'Deletes the endpoint, its pending deliveries and its delivery log.'),
        run: remove,
      },
      'rotate-secret': {
        help: `Usage: clearcut webhooks rotate-secret ID [--no-grace] [--json]
  Prints a new signing secret (once); the old one also signs for CLEARCUT_WEBHOOKS_ROTATION_GRACE.
  --no-grace  the old secret stops signing at once: use it when the old secret leaked`,
        run: rotate,
      },
      enable: {
        help: idHelp(
          'enable',
          'Turns a disabled endpoint on again (failure counts start over); its queued deliveries go out.',
        ),
        run: (rest, io) => setEnabled('enable', rest, io),
      },
      disable: {
        help: idHelp(
          'disable',
          'Stops deliveries: events while it is disabled are not queued for it; queued ones wait for enable.',
        ),
        run: (rest, io) => setEnabled('disable', rest, io),
      },
      deliveries: { help: deliveriesHelp, run: deliveries },
    },
    args,
    io,
  );
