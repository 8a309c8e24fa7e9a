// The RabbitMQ topology as data: names derived from the configured prefix, and what to declare.
// Adapters (amqp-topology.ts) declare it; producers, gateways and workers only need the names.
// No queue shares its name with an exchange: RabbitMQ permissions match names, not kinds, so a
// shared name would let a producer allowed to write `<prefix>.jobs` bind the jobs queue too.

export interface ExchangeSpec {
  readonly name: string;
  readonly type: 'direct' | 'fanout' | 'topic';
}

export interface QueueSpec {
  readonly name: string;
  /** Quorum queues replicate across a cluster; RabbitMQ 3.10 refuses x-max-priority on them. */
  readonly type: 'quorum' | 'classic';
  readonly bindings: readonly { readonly exchange: string; readonly routingKey: string }[];
  /** Extra x-arguments (TTL, dead-lettering); fixed per name, since a queue's arguments never change. */
  readonly arguments?: Readonly<Record<string, string | number>>;
}

/** What a process declares on the broker: exchanges, then queues with their bindings. */
export interface Declarations {
  readonly exchanges: readonly ExchangeSpec[];
  readonly queues: readonly QueueSpec[];
}

/** The streams that end in a dead-letter queue of their own. */
export type DeadLetterStream = 'jobs' | 'events' | 'tasks';
export const deadLetterStreams: readonly DeadLetterStream[] = ['jobs', 'events', 'tasks'];

export interface Topology {
  /** Fanout exchange producers publish signed jobs to (their only write permission); routing key ignored. */
  readonly jobsExchange: string;
  /** The gateway's inbox for signed jobs. */
  readonly jobsQueue: string;
  /** Fanout exchange the storage system publishes S3 event notifications to. */
  readonly eventsExchange: string;
  readonly eventsQueue: string;
  /** Direct exchange the gateway releases tasks to, routing key `normal` or `priority`. */
  readonly tasksExchange: string;
  readonly tasksQueue: string;
  /** A separate lane (not an x-max-priority queue) so it can stay a quorum queue. */
  readonly priorityTasksQueue: string;
  /** Topic exchange of result events, routing key `<tenant>.<job id>.<kind>`. */
  readonly resultsExchange: string;
  /** Direct exchange workers park retries through (routing key = retry queue name). */
  readonly retryExchange: string;
  /** Direct exchange every dead letter goes through, routing key = its stream. */
  readonly deadLetterExchange: string;
  /** One dead-letter queue per stream. */
  readonly deadLetterQueues: Readonly<Record<DeadLetterStream, string>>;
}

export type TaskLane = 'normal' | 'priority';
export const taskLaneRoutingKeys: Record<TaskLane, string> = { normal: 'normal', priority: 'priority' };

/**
 * Times a message may come back unacked before the broker dead-letters it instead (a quorum queue
 * counts every return: a consumer that crashed, a lost connection, a requeue). Fixed, since a
 * queue's arguments never change; generous, since broker restarts and gateway shutdowns return
 * messages too.
 */
export const deliveryLimit = 10;

export function topologyNames(prefix: string): Topology {
  return {
    jobsExchange: `${prefix}.jobs`,
    jobsQueue: `${prefix}.jobs.inbox`,
    eventsExchange: `${prefix}.events`,
    eventsQueue: `${prefix}.events.inbox`,
    tasksExchange: `${prefix}.tasks`,
    tasksQueue: `${prefix}.tasks.inbox`,
    priorityTasksQueue: `${prefix}.tasks.priority.inbox`,
    resultsExchange: `${prefix}.results`,
    retryExchange: `${prefix}.retry`,
    deadLetterExchange: `${prefix}.dead`,
    deadLetterQueues: {
      jobs: `${prefix}.jobs.dead`,
      events: `${prefix}.events.dead`,
      tasks: `${prefix}.tasks.dead`,
    },
  };
}

/** A consumed queue: bounded redeliveries, then its stream's dead-letter queue (never dropped). */
function inbox(
  names: Topology,
  name: string,
  stream: DeadLetterStream,
  exchange: string,
  routingKey: string,
) {
  return {
    name,
    type: 'quorum' as const,
    bindings: [{ exchange, routingKey }],
    arguments: {
      'x-delivery-limit': deliveryLimit,
      'x-dead-letter-exchange': names.deadLetterExchange,
      'x-dead-letter-routing-key': stream,
      // Quorum queues dead-letter at most once unless told otherwise; a poison message must not vanish.
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/** Everything the gateway declares at start (idempotent: the same arguments every time). */
export function gatewayTopology(names: Topology): Declarations {
  return {
    exchanges: [
      { name: names.jobsExchange, type: 'fanout' },
      { name: names.eventsExchange, type: 'fanout' },
      { name: names.tasksExchange, type: 'direct' },
      { name: names.resultsExchange, type: 'topic' },
      { name: names.retryExchange, type: 'direct' },
      { name: names.deadLetterExchange, type: 'direct' },
    ],
    queues: [
      ...deadLetterStreams.map((stream) => ({
        name: names.deadLetterQueues[stream],
        type: 'quorum' as const,
        bindings: [{ exchange: names.deadLetterExchange, routingKey: stream }],
      })),
      inbox(names, names.jobsQueue, 'jobs', names.jobsExchange, ''),
      inbox(names, names.eventsQueue, 'events', names.eventsExchange, ''),
      inbox(names, names.tasksQueue, 'tasks', names.tasksExchange, taskLaneRoutingKeys.normal),
      inbox(names, names.priorityTasksQueue, 'tasks', names.tasksExchange, taskLaneRoutingKeys.priority),
    ],
  };
}

/** One routing-key word: AMQP topic words are dot-separated, so anything outside [A-Za-z0-9_-] becomes `_`. */
export function routingWord(text: string | undefined): string {
  if (text === undefined || text === '') return '_';
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200);
}

export type ResultKind = 'accepted' | 'rejected' | 'item.succeeded' | 'item.failed' | 'job.completed';

/** `<tenant>.<job id>.<kind>`; an unknown tenant (unknown key) is `_`. */
export function resultRoutingKey(tenantId: string | undefined, jobId: string | undefined, kind: ResultKind) {
  return `${routingWord(tenantId)}.${routingWord(jobId)}.${kind}`;
}

/** The binding key that follows one job of one tenant: every event of it, none of anyone else's. */
export function jobResultsBindingKey(tenantId: string, jobId: string): string {
  return `${routingWord(tenantId)}.${routingWord(jobId)}.#`;
}
