// The RabbitMQ topology as data: names derived from the configured prefix, and what to declare.
// Adapters (amqp-topology.ts) declare it; producers, gateways and workers only need the names.

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

export interface Topology {
  /** Fanout exchange producers publish signed jobs to (their only write permission); routing key ignored. */
  readonly jobsExchange: string;
  /** The gateway's inbox for signed jobs. */
  readonly jobsQueue: string;
  /** Fanout exchange the storage system publishes S3 event notifications to (issue 5). */
  readonly eventsExchange: string;
  readonly eventsQueue: string;
  /** Direct exchange the gateway releases tasks to, routing key `normal` or `priority`. */
  readonly tasksExchange: string;
  readonly tasksQueue: string;
  /** A separate lane (not an x-max-priority queue) so it can stay a quorum queue. */
  readonly priorityTasksQueue: string;
  /** Topic exchange of result events, routing key `<tenant>.<job id>.<kind>`. */
  readonly resultsExchange: string;
}

export type TaskLane = 'normal' | 'priority';
export const taskLaneRoutingKeys: Record<TaskLane, string> = { normal: 'normal', priority: 'priority' };

export function topologyNames(prefix: string): Topology {
  return {
    jobsExchange: `${prefix}.jobs`,
    jobsQueue: `${prefix}.jobs`,
    eventsExchange: `${prefix}.events`,
    eventsQueue: `${prefix}.events`,
    tasksExchange: `${prefix}.tasks`,
    tasksQueue: `${prefix}.tasks`,
    priorityTasksQueue: `${prefix}.tasks.priority`,
    resultsExchange: `${prefix}.results`,
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
    ],
    queues: [
      { name: names.jobsQueue, type: 'quorum', bindings: [{ exchange: names.jobsExchange, routingKey: '' }] },
      {
        name: names.eventsQueue,
        type: 'quorum',
        bindings: [{ exchange: names.eventsExchange, routingKey: '' }],
      },
      {
        name: names.tasksQueue,
        type: 'quorum',
        bindings: [{ exchange: names.tasksExchange, routingKey: taskLaneRoutingKeys.normal }],
      },
      {
        name: names.priorityTasksQueue,
        type: 'quorum',
        bindings: [{ exchange: names.tasksExchange, routingKey: taskLaneRoutingKeys.priority }],
      },
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
