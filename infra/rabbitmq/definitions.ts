// RabbitMQ definitions (vhost, a user per role, permissions, topic permissions) generated from
// the topology. `npx tsx infra/rabbitmq/definitions.ts` rewrites the checked-in files;
// test/infra/rabbitmq.test.ts fails when they are out of date and checks every regex.
//   definitions.json      production template: no passwords (set them with rabbitmqctl change_password)
//   definitions.dev.json  the compose stack: fixed, public development passwords
// `npm run infra:rabbitmq -- --tenant acme --tenant globex [--prefix P --vhost V]` prints a variant
// with one producer user per tenant, each limited to its own result routing keys; the shared
// `clearcut-producer` may publish jobs but bind no results.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { identifier } from '../../src/config/parsers.js';
import { tenantIdPattern } from '../../src/contracts/identifiers.js';
import { topologyNames } from '../../src/queue/topology.js';
import { type Role, roleGrants, roleRegexes, roles, tenantResultsPattern } from './permissions.js';

export interface DefinitionsOptions {
  readonly prefix: string;
  readonly vhost: string;
  /** Prepended to every user name (`clearcut-gateway`, ...). */
  readonly userPrefix?: string;
  /** Tenants that get a producer user of their own (`<userPrefix>producer-<tenant>`) with a topic permission. */
  readonly tenants?: readonly string[];
  /** User name → password. A user without one gets no password hash: nobody can log in as it yet. */
  readonly passwords?: Readonly<Record<string, string>>;
  /** Adds `<userPrefix>admin` (administrator tag, every permission on the vhost): for the dev stack only. */
  readonly admin?: boolean;
  /** Salts derived from user and password make the file reproducible; use it only for public dev passwords. */
  readonly deterministicSalts?: boolean;
}

export interface UserDefinition {
  readonly name: string;
  readonly password_hash: string;
  readonly hashing_algorithm: 'rabbit_password_hashing_sha256';
  readonly tags: string[];
}
export interface PermissionDefinition {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}
export interface TopicPermissionDefinition {
  readonly user: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly write: string;
  readonly read: string;
}
export interface Definitions {
  readonly vhosts: { name: string }[];
  readonly users: UserDefinition[];
  readonly permissions: PermissionDefinition[];
  readonly topic_permissions: TopicPermissionDefinition[];
}

export const defaultUserPrefix = 'clearcut-';
export const devPasswords = {
  gateway: 'dev-gateway-password',
  worker: 'dev-worker-password',
  producer: 'dev-producer-password',
  storage: 'dev-storage-password',
  autoscaler: 'dev-autoscaler-password',
  admin: 'dev-admin-password',
} as const;

export function userName(role: Role | 'admin', userPrefix = defaultUserPrefix): string {
  return `${userPrefix}${role}`;
}

export function tenantProducerName(tenant: string, userPrefix = defaultUserPrefix): string {
  return `${userPrefix}producer-${tenant}`;
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ SHA-256(salt ‖ UTF-8 password)), 4-byte salt. */
export function hashPassword(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function rabbitmqDefinitions(options: DefinitionsOptions): Definitions {
  const { vhost, userPrefix = defaultUserPrefix, passwords = {} } = options;
  const names = topologyNames(options.prefix);
  const grants = roleGrants(names);
  const users: UserDefinition[] = [];
  const permissions: PermissionDefinition[] = [];
  const topicPermissions: TopicPermissionDefinition[] = [];

  const addUser = (name: string, tags: string[], regexes: Omit<PermissionDefinition, 'user' | 'vhost'>) => {
    const password = passwords[name];
    const salt = options.deterministicSalts
      ? createHash('sha256').update(`${name}\n${password}`).digest().subarray(0, 4)
      : undefined;
    users.push({
      name,
      password_hash: password === undefined ? '' : hashPassword(password, salt),
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags,
    });
    permissions.push({ user: name, vhost, ...regexes });
  };

  // Topic permissions apply to binding keys on the results exchange (queue and exchange bindings).
  const resultsTopic = (user: string, read: string) =>
    topicPermissions.push({ user, vhost, exchange: names.resultsExchange, write: '^$', read });
  for (const role of roles) {
    addUser(
      userName(role, userPrefix),
      role === 'autoscaler' ? ['monitoring'] : [],
      roleRegexes(grants[role]),
    );
  }
  // The shared producer publishes jobs for any tenant but follows nobody's results.
  resultsTopic(userName('producer', userPrefix), '^$');
  for (const tenant of options.tenants ?? []) {
    const name = tenantProducerName(tenant, userPrefix);
    addUser(name, [], roleRegexes(grants.producer));
    resultsTopic(name, tenantResultsPattern(tenant));
  }
  if (options.admin) {
    addUser(userName('admin', userPrefix), ['administrator'], { configure: '.*', write: '.*', read: '.*' });
  }
  return { vhosts: [{ name: vhost }], users, permissions, topic_permissions: topicPermissions };
}

export function renderDefinitions(definitions: Definitions): string {
  return `${JSON.stringify(definitions, null, 2)}\n`;
}

export const definitionsDirectory = new URL('./', import.meta.url);

/** The checked-in files, file name → text. */
export function renderCheckedInDefinitions(): Map<string, string> {
  const base = { prefix: 'clearcut', vhost: 'clearcut' };
  const dev = Object.fromEntries(
    Object.entries(devPasswords).map(([role, password]) => [userName(role as Role), password]),
  );
  // The dev stack's example tenant follows its results as its own user, with the producer's password.
  const devTenant = 'acme';
  dev[tenantProducerName(devTenant)] = devPasswords.producer;
  return new Map([
    ['definitions.json', renderDefinitions(rabbitmqDefinitions(base))],
    [
      'definitions.dev.json',
      renderDefinitions(
        rabbitmqDefinitions({
          ...base,
          tenants: [devTenant],
          passwords: dev,
          admin: true,
          deterministicSalts: true,
        }),
      ),
    ],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      prefix: { type: 'string' },
      vhost: { type: 'string' },
      tenant: { type: 'string', multiple: true },
    },
  });
  if (values.prefix === undefined && values.vhost === undefined && values.tenant === undefined) {
    for (const [file, text] of renderCheckedInDefinitions()) {
      writeFileSync(new URL(file, definitionsDirectory), text);
    }
  } else {
    const prefix = values.prefix ?? 'clearcut';
    const tenants = values.tenant ?? [];
    const problems = [
      ...(identifier().safeParse(prefix).success ? [] : [`--prefix "${prefix}" is not [a-z][a-z0-9_]*`]),
      ...tenants
        .filter((tenant) => !tenantIdPattern.test(tenant))
        .map((tenant) => `--tenant "${tenant}" is not a tenant id (a lowercase letter, then a-z 0-9 -)`),
    ];
    if (problems.length > 0) {
      process.stderr.write(`${problems.join('\n')}\n`);
      process.exit(2);
    }
    process.stdout.write(
      renderDefinitions(rabbitmqDefinitions({ prefix, vhost: values.vhost ?? 'clearcut', tenants })),
    );
  }
}
