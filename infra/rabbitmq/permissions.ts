// Least-privilege RabbitMQ permissions per role, derived from the topology data in
// src/queue/topology.ts and src/queue/worker-topology.ts: what each process declares, binds,
// publishes to and consumes from. RabbitMQ matches one regex per permission against resource
// NAMES, exchange or queue alike (https://www.rabbitmq.com/docs/access-control); no queue shares a
// name with an exchange, so each grant reaches only the resource it is meant for.
import {
  type ExchangeSpec,
  gatewayTopology,
  type QueueSpec,
  type Topology,
  taskLaneRoutingKeys,
} from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';

export const roles = ['gateway', 'worker', 'producer', 'storage', 'autoscaler'] as const;
export type Role = (typeof roles)[number];
export type Permission = 'configure' | 'write' | 'read';

/** Names a role may touch per permission; `patterns` are regex fragments for families of names. */
export interface Grants {
  readonly configure: readonly string[];
  readonly write: readonly string[];
  readonly read: readonly string[];
  readonly patterns?: Partial<Record<Permission, readonly string[]>>;
}

/** Queues the broker names for a client (`queue.declare` with an empty name): the producer's result queues. */
export const serverNamedQueuePattern = 'amq\\.gen-.*';
/** What a process does on the broker, in AMQP 0-9-1 operations. */
interface Activity {
  readonly declares: { readonly exchanges: readonly ExchangeSpec[]; readonly queues: readonly QueueSpec[] };
  readonly publishesTo: readonly string[];
  readonly consumes: readonly string[];
}

/**
 * The permissions an activity needs (the access-control table): declaring needs configure, plus
 * write on a dead-letter exchange and read on the declaring queue; queue.bind needs write on the
 * queue and read on the exchange; publishing needs write on the exchange; consuming, basic.get and
 * purging need read on the queue.
 */
function grantsFor({ declares, publishesTo, consumes }: Activity): Grants {
  const deadLettering = declares.queues.filter((queue) => queue.arguments?.['x-dead-letter-exchange']);
  const bound = declares.queues.filter((queue) => queue.bindings.length > 0);
  return {
    configure: [...declares.exchanges.map((e) => e.name), ...declares.queues.map((q) => q.name)],
    write: [
      ...bound.map((queue) => queue.name),
      ...deadLettering.map((queue) => String(queue.arguments!['x-dead-letter-exchange'])),
      ...publishesTo,
    ],
    read: [
      ...bound.flatMap((queue) => queue.bindings.map((binding) => binding.exchange)),
      ...deadLettering.map((queue) => queue.name),
      ...consumes,
    ],
  };
}

/**
 * Retry queue names carry the delay (CLEARCUT_RETRY_DELAYS), so one pattern covers every lane and
 * delay: changing the delays needs no new permissions.
 */
export function retryQueuePattern(names: Topology): string {
  const sampleDelay = 86_400_123;
  const sample = workerTopology(names, [sampleDelay]).retryQueue('priority', 1);
  const lanes = Object.keys(taskLaneRoutingKeys).join('|');
  return escapeRegex(sample).replace('priority', `(?:${lanes})`).replace(String(sampleDelay), '[0-9]+');
}

/** Replaces the names a pattern covers by the pattern. */
function collapse(grants: Grants, pattern: string): Grants {
  const regex = new RegExp(`^${pattern}$`);
  const permission = (p: Permission) => {
    const names = grants[p].filter((name) => !regex.test(name));
    const patterns = [...(grants.patterns?.[p] ?? []), ...(names.length < grants[p].length ? [pattern] : [])];
    return { names, patterns };
  };
  const [configure, write, read] = (['configure', 'write', 'read'] as const).map(permission) as [
    ReturnType<typeof permission>,
    ReturnType<typeof permission>,
    ReturnType<typeof permission>,
  ];
  return {
    configure: configure.names,
    write: write.names,
    read: read.names,
    patterns: { configure: configure.patterns, write: write.patterns, read: read.patterns },
  };
}

/** What each role does on the broker. */
export function roleGrants(names: Topology): Record<Role, Grants> {
  const gatewayDeclares = gatewayTopology(names);
  const worker = workerTopology(names, [1000]);
  const taskQueues = [names.tasksQueue, names.priorityTasksQueue];
  return {
    // Declares the topology at start, consumes jobs and S3 events (the event consumer runs inside
    // the gateway, or alone as `clearcut events` with the same user), publishes tasks and results.
    // `clearcut dlq --queue jobs|events` runs as the gateway: it reads those dead-letter queues and
    // republishes to the jobs and events exchanges.
    gateway: grantsFor({
      declares: gatewayDeclares,
      publishesTo: [names.tasksExchange, names.resultsExchange, names.jobsExchange, names.eventsExchange],
      consumes: [
        names.jobsQueue,
        names.eventsQueue,
        names.deadLetterQueues.jobs,
        names.deadLetterQueues.events,
      ],
    }),
    // Declares the topology too (either process may start first) plus its retry queues; consumes
    // both task lanes; parks retries and dead letters through the retry and dead-letter exchanges;
    // `clearcut dlq` (tasks) reads the tasks dead-letter queue and republishes to the tasks exchange.
    worker: collapse(
      grantsFor({
        declares: {
          exchanges: gatewayDeclares.exchanges,
          queues: [...gatewayDeclares.queues, ...worker.queues],
        },
        publishesTo: [names.retryExchange, names.deadLetterExchange, names.tasksExchange],
        consumes: [...taskQueues, worker.deadLetterQueue],
      }),
      retryQueuePattern(names),
    ),
    // Publishes signed jobs; follows results through its own exclusive server-named queues.
    producer: {
      configure: [],
      write: [names.jobsExchange],
      read: [names.resultsExchange],
      patterns: {
        configure: [serverNamedQueuePattern],
        write: [serverNamedQueuePattern],
        read: [serverNamedQueuePattern],
      },
    },
    // MinIO's AMQP target re-declares its exchange before every publish (same type and
    // durability as the gateway's declaration), then publishes to it.
    storage: { configure: [names.eventsExchange], write: [names.eventsExchange], read: [] },
    // KEDA reads queue depths over the management API (user tag `monitoring`); no AMQP access.
    autoscaler: { configure: [], write: [], read: [] },
  };
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One anchored regex matching exactly these names and patterns; `^$` (nothing) when empty. */
export function permissionRegex(names: readonly string[], patterns: readonly string[] = []): string {
  const alternatives = [...new Set(names)].sort().map(escapeRegex).concat(patterns);
  if (alternatives.length === 0) return '^$';
  return alternatives.length === 1 ? `^${alternatives[0]}$` : `^(?:${alternatives.join('|')})$`;
}

export function roleRegexes(grants: Grants): Record<Permission, string> {
  const regex = (permission: Permission) =>
    permissionRegex(grants[permission], grants.patterns?.[permission]);
  return { configure: regex('configure'), write: regex('write'), read: regex('read') };
}

/** Topic-permission read pattern that limits a producer to its tenant's result routing keys. */
export function tenantResultsPattern(tenant: string): string {
  return `^${escapeRegex(tenant)}\\.`;
}
