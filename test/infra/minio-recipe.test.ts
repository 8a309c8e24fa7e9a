import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { userName } from '../../infra/rabbitmq/definitions.js';
import { topologyNames } from '../../src/queue/topology.js';
import { repoFile } from './manifests.js';

// docs/events.md holds the one MinIO set-up recipe. It must say what the compose stack does
// (infra/minio/notify-amqp.dev.env, which compose.test.ts holds to the gateway's exchange) and what
// the broker definitions grant (whose effect rabbitmq-broker.test.ts tries on the real broker).

const page = readFileSync(repoFile('docs/events.md'), 'utf8');
const recipe = page.slice(
  page.indexOf('## Feeding it from MinIO'),
  page.indexOf('\n## ', page.indexOf('## Feeding it from MinIO') + 1),
);
const definitions = JSON.parse(readFileSync(repoFile('infra/rabbitmq/definitions.json'), 'utf8')) as {
  vhosts: { name: string }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
};
const names = topologyNames('clearcut');

/** The `key="value"` settings of the recipe's `mc admin config set ALIAS notify_amqp:NAME ...`. */
function targetSettings(): { target: string; settings: Record<string, string> } {
  const match = /mc admin config set ALIAS notify_amqp:(\w+) \\\n((?:\s+\w+="[^"]*"[^\n]*\n)+)/.exec(recipe);
  if (!match) throw new Error('docs/events.md: no `mc admin config set ALIAS notify_amqp:NAME` command');
  const settings = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
  return { target: match[1]!, settings };
}

/** The compose stack's target: MINIO_NOTIFY_AMQP_<KEY>_<TARGET>=value, as `mc` keys. */
function composeTarget(): { target: string; settings: Record<string, string> } {
  const entries = readFileSync(repoFile('infra/minio/notify-amqp.dev.env'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('MINIO_NOTIFY_AMQP_'))
    .map((line) => /^MINIO_NOTIFY_AMQP_([A-Z_]+)_([A-Z0-9]+)=(.*)$/.exec(line)!);
  const targets = new Set(entries.map((entry) => entry[2]));
  expect(targets.size).toBe(1);
  // MinIO reads `publisher_confirms` from the variable PUBLISHING_CONFIRMS.
  const key = (variable: string) =>
    variable === 'PUBLISHING_CONFIRMS' ? 'publisher_confirms' : variable.toLowerCase();
  return {
    target: [...targets][0]!,
    settings: Object.fromEntries(entries.map((entry) => [key(entry[1]!), entry[3]!])),
  };
}

describe('the MinIO recipe of docs/events.md', () => {
  it('configures the target exactly as the compose stack does', () => {
    const documented = targetSettings();
    const compose = composeTarget();
    expect(documented.target).toBe(compose.target);
    const { enable: _on, url: _devUrl, queue_dir: _devDir, ...fixed } = compose.settings;
    const { url: _url, queue_dir: queueDir, ...settings } = documented.settings;
    expect(settings).toEqual(fixed);
    expect(queueDir).toMatch(/^\/\S+$/);
    expect(settings.exchange).toBe(names.eventsExchange);
  });

  it('names the target by one ARN everywhere, the one setup.sh subscribes', () => {
    const { target } = targetSettings();
    const arns = [...page.matchAll(/arn:minio:sqs::(\w+):amqp/g)].map((m) => m[1]);
    expect(arns.length).toBeGreaterThan(2);
    expect(new Set(arns)).toEqual(new Set([target]));
    expect(readFileSync(repoFile('infra/minio/setup.sh'), 'utf8')).toContain(`arn:minio:sqs::${target}:amqp`);
  });

  it('logs MinIO in as the storage user, in the vhost of the definitions', () => {
    const url = new URL(targetSettings().settings.url!);
    expect(decodeURIComponent(url.username)).toBe(userName('storage'));
    expect(decodeURIComponent(url.pathname.slice(1))).toBe(definitions.vhosts[0]!.name);
  });

  it('grants the storage user what the definitions grant it, configure included', () => {
    const command = /rabbitmqctl set_permissions -p (\S+) (\S+) '([^']*)' '([^']*)' '([^']*)'/.exec(recipe);
    expect(command, 'a rabbitmqctl set_permissions line').not.toBeNull();
    const [, vhost, user, configure, write, read] = command!;
    const granted = definitions.permissions.find((entry) => entry.user === userName('storage'))!;
    expect({ vhost, user, configure, write, read }).toEqual({
      vhost: granted.vhost,
      user: granted.user,
      configure: granted.configure,
      write: granted.write,
      read: granted.read,
    });
    expect(recipe).toContain(`rabbitmqctl add_user ${granted.user} `);
  });

  it('is the only recipe: docs/operations.md links to it instead of repeating it', () => {
    const operations = readFileSync(repoFile('docs/operations.md'), 'utf8');
    expect(operations).not.toContain('notify_amqp:');
    expect(operations).toContain('events.md#feeding-it-from-minio');
  });
});
