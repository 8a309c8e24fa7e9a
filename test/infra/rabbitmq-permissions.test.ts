import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Definitions,
  definitionsDirectory,
  rabbitmqDefinitions,
  renderCheckedInDefinitions,
} from '../../infra/rabbitmq/definitions.js';
import { type Permission, type Role, roles } from '../../infra/rabbitmq/permissions.js';
import { loadConfig } from '../../src/config.js';
import { gatewayTopology, topologyNames } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';

// RabbitMQ matches each permission regex against resource names. This file applies the checked-in
// regexes to the topology's names (default prefix) and to near-miss names, and compares the result
// with the access each role is meant to have, written out by hand below.

const checkedIn = JSON.parse(
  readFileSync(new URL('definitions.json', definitionsDirectory), 'utf8'),
) as Definitions;
const names = topologyNames('clearcut');
const declared = gatewayTopology(names);
const worker = workerTopology(names, loadConfig({}).worker.retryDelaysMs);
const exchanges = declared.exchanges.map((exchange) => exchange.name);
const queues = declared.queues.map((queue) => queue.name);
const workerQueues = worker.queues.map((queue) => queue.name);

/**
 * Names no role may touch unless listed: other prefixes, look-alikes (an unescaped `.` would match
 * `_`), built-ins. The default exchange is `amq.default` to the permission checks (never "").
 */
const nearMisses = [
  'amq.default',
  'amq.topic',
  'amq.direct',
  'amq.gen',
  'xamq.gen-1',
  'other.jobs',
  'clearcut',
  'clearcut_jobs',
  'clearcutXevents',
  'clearcut.jobs.extra',
  'xclearcut.jobs',
  'clearcut.tasks.priority2',
  'clearcut.tasksXpriority',
  'clearcut.results.',
  'clearcut.tasks.retry.urgent.1000ms',
  'clearcut.tasks.retry.normal.1000',
  'clearcut.tasks.retry.normal.fastms',
  'clearcut.tasks.deadX',
  'clearcut.jobs.inboxX',
  'clearcut.retry.x',
  'clearcut.deadX',
];
const serverNamedQueue = 'amq.gen-JX4Pa3mZ8q1vGZm4Wb7Rcw';
const universe = [...new Set([...exchanges, ...queues, ...workerQueues, ...nearMisses, serverNamedQueue])];

type Kind = 'exchange' | 'queue';
type Access = Record<Permission, readonly `${Kind} ${string}`[]>;

/** What each role needs, by resource kind (AMQP 0-9-1 operations → permissions, see infra/rabbitmq/permissions.ts). */
const inboxes = [names.jobsQueue, names.eventsQueue, names.tasksQueue, names.priorityTasksQueue];
const intended: Record<Role, Access> = {
  gateway: {
    configure: [
      ...exchanges.map((name) => `exchange ${name}` as const),
      ...queues.map((name) => `queue ${name}` as const),
    ],
    // queue.bind needs write on the queue; declaring a queue that dead-letters needs write on the
    // dead-letter exchange; publishing tasks and results (and `clearcut dlq replay` of jobs and
    // events) needs write on those exchanges.
    write: [
      ...queues.map((name) => `queue ${name}` as const),
      'exchange clearcut.dead',
      'exchange clearcut.tasks',
      'exchange clearcut.results',
      'exchange clearcut.jobs',
      'exchange clearcut.events',
    ],
    // queue.bind needs read on the source exchange; declaring a dead-lettering queue needs read on
    // it; consuming needs read on the queue.
    read: [
      'exchange clearcut.jobs',
      'exchange clearcut.events',
      'exchange clearcut.tasks',
      'exchange clearcut.dead',
      ...inboxes.map((name) => `queue ${name}` as const),
      'queue clearcut.jobs.dead',
      'queue clearcut.events.dead',
    ],
  },
  // The worker declares the gateway's topology too (either may start first), plus its retry queues
  // (bound to the retry exchange, dead-lettering to the tasks exchange); it parks retries and dead
  // letters through the retry and dead-letter exchanges and `clearcut dlq` republishes to the tasks
  // exchange.
  worker: {
    configure: [
      ...exchanges.map((name) => `exchange ${name}` as const),
      ...[...queues, ...workerQueues].map((name) => `queue ${name}` as const),
    ],
    write: [
      ...[...queues, ...workerQueues].map((name) => `queue ${name}` as const),
      'exchange clearcut.tasks',
      'exchange clearcut.retry',
      'exchange clearcut.dead',
    ],
    read: [
      'exchange clearcut.jobs',
      'exchange clearcut.events',
      'exchange clearcut.tasks',
      'exchange clearcut.retry',
      'exchange clearcut.dead',
      ...inboxes.map((name) => `queue ${name}` as const),
      'queue clearcut.tasks.dead',
      ...workerQueues.map((name) => `queue ${name}` as const),
    ],
  },
  producer: {
    configure: [`queue ${serverNamedQueue}`],
    write: ['exchange clearcut.jobs', `queue ${serverNamedQueue}`],
    read: ['exchange clearcut.results', `queue ${serverNamedQueue}`],
  },
  storage: { configure: ['exchange clearcut.events'], write: ['exchange clearcut.events'], read: [] },
  autoscaler: { configure: [], write: [], read: [] },
};

function kindsOf(name: string): Kind[] {
  const kinds: Kind[] = [];
  if (exchanges.includes(name)) kinds.push('exchange');
  if (queues.includes(name) || workerQueues.includes(name) || name.startsWith('amq.gen-'))
    kinds.push('queue');
  if (name.startsWith('amq.') && !name.startsWith('amq.gen')) kinds.push('exchange');
  return kinds;
}

function granted(definitions: Definitions, user: string, permission: Permission): string[] {
  const entry = definitions.permissions.find((candidate) => candidate.user === user);
  if (!entry) throw new Error(`no permissions for ${user}`);
  // Erlang's re (PCRE) and JavaScript agree on these regexes: anchors, alternation, escaped dots.
  const regex = new RegExp(entry[permission]);
  return universe.filter((name) => regex.test(name));
}

describe('RabbitMQ definitions', () => {
  it('are up to date with the topology (run `npx tsx infra/rabbitmq/definitions.ts`)', () => {
    for (const [file, text] of renderCheckedInDefinitions()) {
      expect(readFileSync(new URL(file, definitionsDirectory), 'utf8'), file).toBe(text);
    }
  });

  it('define one vhost and one password-less user per role, whose regexes all compile', () => {
    expect(checkedIn.vhosts).toEqual([{ name: 'clearcut' }]);
    expect(checkedIn.users.map((user) => user.name)).toEqual(roles.map((role) => `clearcut-${role}`));
    expect(checkedIn.users.every((user) => user.password_hash === '')).toBe(true);
    expect(checkedIn.users.find((user) => user.name === 'clearcut-autoscaler')?.tags).toEqual(['monitoring']);
    for (const entry of checkedIn.permissions) {
      expect(entry.vhost).toBe('clearcut');
      for (const permission of ['configure', 'write', 'read'] as const) {
        expect(() => new RegExp(entry[permission]), `${entry.user} ${permission}`).not.toThrow();
        expect(entry[permission], 'anchored').toMatch(/^\^.*\$$/);
      }
    }
  });

  for (const role of roles) {
    it(`give the ${role} exactly its intended access`, () => {
      const leaks: string[] = [];
      for (const permission of ['configure', 'write', 'read'] as const) {
        const names = granted(checkedIn, `clearcut-${role}`, permission);
        const wanted = intended[role][permission].map((entry) => entry.split(' ')[1]);
        expect(names.sort(), `${role} ${permission}`).toEqual([...new Set(wanted)].sort());
        for (const name of names) {
          for (const kind of kindsOf(name)) {
            const key = `${kind} ${name}` as const;
            if (!intended[role][permission].includes(key)) leaks.push(`${permission} ${key}`);
          }
        }
      }
      // No queue shares a name with an exchange, so no grant reaches a resource of the other kind.
      expect(leaks).toEqual([]);
    });
  }

  it('let a producer write the jobs exchange and nothing else of ClearCut', () => {
    const writable = granted(checkedIn, 'clearcut-producer', 'write').filter(
      (name) => !name.startsWith('amq.'),
    );
    expect(writable).toEqual([names.jobsExchange]);
    expect(granted(checkedIn, 'clearcut-storage', 'write')).toEqual([names.eventsExchange]);
  });

  it('let the shared producer publish jobs but bind no result routing key', () => {
    expect(checkedIn.topic_permissions).toEqual([
      { user: 'clearcut-producer', vhost: 'clearcut', exchange: 'clearcut.results', write: '^$', read: '^$' },
    ]);
  });

  it('are quoted exactly in docs/operations.md', () => {
    const lines = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8').split('\n');
    for (const entry of checkedIn.permissions) {
      const row = lines.find((line) => line.startsWith(`| \`${entry.user}\` |`));
      const cells = (['configure', 'write', 'read'] as const).map(
        (p) => `\`${entry[p].replaceAll('|', '\\|')}\``,
      );
      expect(row, entry.user).toBeDefined();
      expect(row!.split(' | ').slice(2), entry.user).toEqual([...cells.slice(0, 2), `${cells[2]} |`]);
    }
  });

  it('follow the prefix, and limit a tenant producer to its own result routing keys', () => {
    const other = rabbitmqDefinitions({ prefix: 'shop_eu', vhost: 'eu', tenants: ['acme', 'globex-2'] });
    const producer = other.permissions.find((entry) => entry.user === 'clearcut-producer-acme')!;
    expect(new RegExp(producer.write).test('shop_eu.jobs')).toBe(true);
    expect(new RegExp(producer.write).test('clearcut.jobs')).toBe(false);
    expect(other.topic_permissions).toEqual([
      { user: 'clearcut-producer', vhost: 'eu', exchange: 'shop_eu.results', write: '^$', read: '^$' },
      {
        user: 'clearcut-producer-acme',
        vhost: 'eu',
        exchange: 'shop_eu.results',
        write: '^$',
        read: '^acme\\.',
      },
      {
        user: 'clearcut-producer-globex-2',
        vhost: 'eu',
        exchange: 'shop_eu.results',
        write: '^$',
        read: '^globex-2\\.',
      },
    ]);
    const acme = new RegExp(other.topic_permissions[1]!.read);
    expect(['acme.job-1.#', 'acme.*.accepted'].every((key) => acme.test(key))).toBe(true);
    expect(['acmex.job-1.#', '*.job-1.#', '#', 'globex-2.job.#'].some((key) => acme.test(key))).toBe(false);
  });
});
