// Writes docs/asyncapi.yaml, the AsyncAPI 3.0 description of every exchange, queue and message,
// from the zod contracts (asyncapi-schemas.ts) and the topology (src/queue/topology.ts,
// src/queue/worker-topology.ts), which stay the one source of truth. `npx tsx infra/dev/asyncapi.ts`
// rewrites it; test/infra/asyncapi.test.ts fails when the checked-in file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config.js';
import {
  deadLetterStreams,
  gatewayTopology,
  type TaskLane,
  taskLaneRoutingKeys,
  topologyNames,
} from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import {
  amqpBindingVersion,
  componentMessages,
  componentSchemas,
  resultMessages,
} from './asyncapi-components.js';

export const asyncApiPath = new URL('../../docs/asyncapi.yaml', import.meta.url);

const ref = ($ref: string) => ({ $ref });
const amqpVersion = amqpBindingVersion;
const lanes = Object.keys(taskLaneRoutingKeys) as TaskLane[];

type Channel = Record<string, unknown>;

export function asyncApiDocument(prefix = 'clearcut', vhost = 'clearcut'): Record<string, unknown> {
  const names = topologyNames(prefix);
  const declared = gatewayTopology(names);
  const delays = [...new Set(loadConfig({}).worker.retryDelaysMs)];
  const worker = workerTopology(names, delays);
  const messageRefs = (messages: readonly string[]) =>
    Object.fromEntries(messages.map((m) => [m, ref(`#/components/messages/${m}`)]));
  const exchangeChannel = (name: string, address: string | null, description: string, messages: string[]) => {
    const spec = declared.exchanges.find((candidate) => candidate.name === name);
    if (!spec) throw new Error(`exchange ${name} is not in the gateway topology`);
    const exchange = { name, type: spec.type, durable: true, autoDelete: false, vhost };
    return {
      address,
      description,
      messages: messageRefs(messages),
      bindings: { amqp: { is: 'routingKey', exchange, bindingVersion: amqpVersion } },
    };
  };
  const queueChannel = (name: string, description: string, messages: string[]) => {
    const spec = [...declared.queues, ...worker.queues].find((candidate) => candidate.name === name);
    if (!spec) throw new Error(`queue ${name} is not in the topology`);
    const queue = { name, durable: true, exclusive: false, autoDelete: false, vhost };
    const limit = spec.arguments?.['x-delivery-limit'];
    return {
      address: name,
      description:
        limit === undefined
          ? description
          : `${description} After ${limit} deliveries without an ack (its consumer crashed on it), the broker moves a message to \`${names.deadLetterExchange}\` with routing key \`${spec.arguments?.['x-dead-letter-routing-key']}\`.`,
      messages: messageRefs(messages),
      bindings: { amqp: { is: 'queue', queue, bindingVersion: amqpVersion } },
    };
  };
  const resultNames = resultMessages.map(([message]) => message);
  const retryChannels: Record<string, Channel> = {};
  for (const lane of lanes) {
    for (const [index, delayMs] of delays.entries()) {
      retryChannels[`retry.${lane}.${delayMs}ms`] = queueChannel(
        worker.retryQueue(lane, index + 1),
        `Retry queue, bound to \`${names.retryExchange}\` by its own name: holds a ${lane} task ${delayMs} ms (message TTL), then dead-letters it back to \`${names.tasksExchange}\` with routing key \`${taskLaneRoutingKeys[lane]}\`; the broker's x-death header counts the retries.`,
        ['task'],
      );
    }
  }

  const channels: Record<string, Channel> = {
    jobsExchange: exchangeChannel(
      names.jobsExchange,
      null,
      `Fanout exchange \`${names.jobsExchange}\`: producers publish signed jobs (routing key ignored, use "").`,
      ['job'],
    ),
    jobsQueue: queueChannel(names.jobsQueue, 'Quorum queue the gateways consume signed jobs from.', ['job']),
    eventsExchange: exchangeChannel(
      names.eventsExchange,
      null,
      `Fanout exchange \`${names.eventsExchange}\`: the storage system (MinIO's AMQP target) publishes S3 event notifications (routing key ignored).`,
      ['s3Event', 's3TestEvent'],
    ),
    eventsQueue: queueChannel(names.eventsQueue, 'Quorum queue the event consumer reads S3 events from.', [
      's3Event',
      's3TestEvent',
    ]),
    tasksExchange: {
      ...exchangeChannel(
        names.tasksExchange,
        '{lane}',
        `Direct exchange \`${names.tasksExchange}\`: one task per image, from the gateway, retry queues and \`clearcut dlq replay\`.`,
        ['task'],
      ),
      parameters: {
        lane: {
          enum: Object.values(taskLaneRoutingKeys),
          description: `\`${taskLaneRoutingKeys.priority}\` for tenants of a priority tier, \`${taskLaneRoutingKeys.normal}\` otherwise.`,
        },
      },
    },
    tasksQueue: queueChannel(names.tasksQueue, 'Quorum queue of the normal lane; workers consume it.', [
      'task',
    ]),
    priorityTasksQueue: queueChannel(
      names.priorityTasksQueue,
      'Quorum queue of the priority lane; workers drain it first.',
      ['task'],
    ),
    retryExchange: {
      ...exchangeChannel(
        names.retryExchange,
        '{retryQueue}',
        `Direct exchange \`${names.retryExchange}\`: workers park a task that failed transiently; the routing key is the retry queue's name.`,
        ['task'],
      ),
      parameters: { retryQueue: { description: 'Name of the retry queue of the lane and delay.' } },
    },
    ...retryChannels,
    deadLetterExchange: {
      ...exchangeChannel(
        names.deadLetterExchange,
        '{stream}',
        `Direct exchange \`${names.deadLetterExchange}\` every dead letter goes through, bound to one dead-letter queue per stream.`,
        ['job', 's3Event', 'deadLetter'],
      ),
      parameters: { stream: { enum: [...deadLetterStreams], description: 'The stream the message left.' } },
    },
    deadLetterQueue: queueChannel(
      worker.deadLetterQueue,
      'Tasks that failed every attempt, could not be read, or crashed their workers too often; `clearcut dlq list --queue tasks` lists them, `clearcut dlq replay` republishes them.',
      ['deadLetter'],
    ),
    deadJobsQueue: queueChannel(
      names.deadLetterQueues.jobs,
      'Job messages that crashed the gateways too often, as they were published; `clearcut dlq list --queue jobs` lists them, `clearcut dlq replay --queue jobs` republishes them.',
      ['job'],
    ),
    deadEventsQueue: queueChannel(
      names.deadLetterQueues.events,
      'S3 events that crashed the event consumers too often; `clearcut dlq list --queue events` lists them, `clearcut dlq replay --queue events` republishes them.',
      ['s3Event', 's3TestEvent'],
    ),
    results: {
      ...exchangeChannel(
        names.resultsExchange,
        '{tenant}.{jobId}.{kind}',
        `Topic exchange \`${names.resultsExchange}\` of result events. Bind \`<tenant>.<job id>.#\` to follow one job; an unknown tenant or unreadable job id is \`_\`.`,
        resultNames,
      ),
      parameters: {
        tenant: { description: 'Tenant id, or `_` when the key was unknown.' },
        jobId: { description: 'Job id (the job message_id), or `_` when it was missing or malformed.' },
        kind: { enum: resultMessages.map(([, kind]) => kind), description: 'Which event this is.' },
      },
    },
  };

  const publish = { deliveryMode: 2, mandatory: false, timestamp: true };
  const consume = { ack: true };
  const operation = (
    action: 'send' | 'receive',
    channel: string,
    summary: string,
    messages: readonly string[],
    bindings: Record<string, unknown>,
  ) => ({
    action,
    channel: ref(`#/channels/${channel}`),
    summary,
    messages: messages.map((m) => ref(`#/channels/${channel}/messages/${m}`)),
    bindings: { amqp: { ...bindings, bindingVersion: amqpVersion } },
  });
  const events = ['s3Event', 's3TestEvent'];
  const operations: Record<string, unknown> = {
    submitJob: operation(
      'send',
      'jobsExchange',
      'A producer publishes a signed job (with publisher confirms).',
      ['job'],
      publish,
    ),
    receiveJobs: operation(
      'receive',
      'jobsQueue',
      'A gateway verifies, admits or rejects each job.',
      ['job'],
      consume,
    ),
    publishStorageEvent: operation(
      'send',
      'eventsExchange',
      'The storage system reports new objects.',
      events,
      publish,
    ),
    receiveStorageEvents: operation(
      'receive',
      'eventsQueue',
      'The event consumer matches events to trigger rules.',
      events,
      consume,
    ),
    releaseTask: operation(
      'send',
      'tasksExchange',
      'A gateway releases admitted tasks, fairly per tenant.',
      ['task'],
      publish,
    ),
    receiveTasks: operation(
      'receive',
      'tasksQueue',
      'A worker processes one image per task.',
      ['task'],
      consume,
    ),
    receivePriorityTasks: operation(
      'receive',
      'priorityTasksQueue',
      'A worker processes priority tasks first.',
      ['task'],
      consume,
    ),
    ...Object.fromEntries(
      Object.keys(retryChannels).map((channel) => [
        `park.${channel}`,
        operation(
          'send',
          channel,
          'A worker parks a task that failed transiently (through the retry exchange).',
          ['task'],
          publish,
        ),
      ]),
    ),
    deadLetterTask: operation(
      'send',
      'deadLetterQueue',
      'A worker gives up on a task (through the dead-letter exchange, routing key `tasks`).',
      ['deadLetter'],
      publish,
    ),
    receiveDeadLetters: operation(
      'receive',
      'deadLetterQueue',
      '`clearcut dlq` lists dead letters and acks the replayed ones.',
      ['deadLetter'],
      consume,
    ),
    replayDeadLetter: operation(
      'send',
      'tasksExchange',
      '`clearcut dlq replay` republishes a task with attempt + 1.',
      ['task'],
      publish,
    ),
    publishResult: operation(
      'send',
      'results',
      'A gateway relays result events from the outbox.',
      resultNames,
      publish,
    ),
    followResults: operation(
      'receive',
      'results',
      'A producer follows its jobs through its own exclusive queue.',
      resultNames,
      { ack: false },
    ),
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'ClearCut message interface',
      version: packageVersion(),
      description: [
        'Every exchange, queue and message of ClearCut on RabbitMQ (AMQP 0-9-1).',
        `Names are shown for the default prefix \`${prefix}\` and the default retry delays; a deployment replaces them with its CLEARCUT_AMQP_PREFIX and CLEARCUT_RETRY_DELAYS.`,
        'Gateways and workers declare every exchange and queue at start. Broker users per role: docs/operations.md.',
        'Generated by `npx tsx infra/dev/asyncapi.ts` from src/contracts/ and src/queue/; do not edit by hand.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      broker: server('amqp', 5672, vhost, 'RabbitMQ; the vhost is the path of `CLEARCUT_AMQP_URL`.'),
      brokerTls: server(
        'amqps',
        5671,
        vhost,
        'The same broker over TLS (`amqps://` in `CLEARCUT_AMQP_URL`).',
      ),
    },
    channels,
    operations,
    components: {
      securitySchemes: {
        brokerUser: {
          type: 'userPassword',
          description:
            'A RabbitMQ user of one role (infra/rabbitmq/definitions.json): producer, storage, gateway or worker.',
        },
      },
      messages: componentMessages(),
      schemas: componentSchemas(),
    },
  };
}

function server(protocol: 'amqp' | 'amqps', port: number, vhost: string, description: string) {
  return {
    host: `rabbitmq:${port}`,
    protocol,
    protocolVersion: '0.9.1',
    pathname: `/${vhost}`,
    description,
    security: [ref('#/components/securitySchemes/brokerUser')],
  };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function renderAsyncApi(): string {
  const yaml = stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
  return `# Generated by \`npx tsx infra/dev/asyncapi.ts\`; do not edit by hand.\n${yaml}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(asyncApiPath, renderAsyncApi());
}
