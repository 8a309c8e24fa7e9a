import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rabbitmqDefinitions,
  renderDefinitions,
  tenantProducerName,
  userName,
} from '../../infra/rabbitmq/definitions.js';
import { type Role, roles } from '../../infra/rabbitmq/permissions.js';
import { followJobResults } from '../../src/client/result-follower.js';
import { loadConfig } from '../../src/config.js';
import { declareTopology } from '../../src/queue/amqp-topology.js';
import { gatewayTopology, topologyNames } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { testAmqpUrl } from '../support/environment.js';

// The generated permissions, imported into a throw-away vhost of the real broker, and each role
// trying what it must be able to do and what it must not. Needs rabbitmqctl (the tests run as root
// beside the broker, as in CI); the vhost and users are deleted afterwards.

const run = promisify(execFile);
const suffix = randomBytes(4).toString('hex');
const vhost = `t_infra_${suffix}`;
const userPrefix = `t-infra-${suffix}-`;
const password = `pw-${suffix}`;
const names = topologyNames('clearcut');
const worker = workerTopology(names, loadConfig({}).worker.retryDelaysMs);
const users = [...roles.map((role) => userName(role, userPrefix)), tenantProducerName('acme', userPrefix)];
const definitionsFile = join(tmpdir(), `clearcut-${vhost}.json`);
const connections = new Map<string, ChannelModel>();

async function connect(user: string): Promise<ChannelModel> {
  const base = new URL(testAmqpUrl);
  const url = `amqp://${user}:${password}@${base.host}/${encodeURIComponent(vhost)}`;
  // import_definitions returns before the import is done: retry the login briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      const connection = await amqp.connect(url);
      connection.on('error', () => {});
      return connection;
    } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

const as = (role: Role | 'acme') => connections.get(role)!;

/** Runs `action` on a fresh channel: 'ok', or 'refused' when the broker closed it with ACCESS_REFUSED. */
async function attempt(
  connection: ChannelModel,
  action: (channel: ConfirmChannel) => Promise<unknown>,
): Promise<'ok' | 'refused'> {
  const channel = await connection.createConfirmChannel();
  let refusal: Error | undefined;
  const closed = new Promise<void>((resolve) => channel.on('close', resolve));
  channel.on('error', (error: Error) => {
    refusal = error;
  });
  try {
    await action(channel);
    await channel.close();
    return 'ok';
  } catch (error) {
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    const text = `${String(error)} ${String(refusal)}`;
    if (/ACCESS_REFUSED/.test(text)) return 'refused';
    throw error;
  }
}

const publish =
  (exchange: string, routingKey = '') =>
  async (channel: ConfirmChannel) => {
    channel.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true });
    await channel.waitForConfirms();
  };
const consume = (queue: string) => async (channel: ConfirmChannel) => {
  const { consumerTag } = await channel.consume(queue, () => {});
  await channel.cancel(consumerTag);
};

beforeAll(async () => {
  const passwords = Object.fromEntries(users.map((user) => [user, password]));
  const definitions = rabbitmqDefinitions({
    prefix: 'clearcut',
    vhost,
    userPrefix,
    tenants: ['acme'],
    passwords,
  });
  writeFileSync(definitionsFile, renderDefinitions(definitions));
  await run('rabbitmqctl', ['-q', 'import_definitions', definitionsFile]);
  for (const role of roles) connections.set(role, await connect(userName(role, userPrefix)));
  connections.set('acme', await connect(tenantProducerName('acme', userPrefix)));
}, 60_000);

afterAll(async () => {
  for (const connection of connections.values()) await connection.close().catch(() => {});
  rmSync(definitionsFile, { force: true });
  const binaries = (values: string[]) => values.map((value) => `<<"${value}">>`).join(', ');
  await run('rabbitmqctl', [
    '-q',
    'eval',
    `rabbit_vhost:delete(<<"${vhost}">>, <<"clearcut-test">>), ` +
      `[rabbit_auth_backend_internal:delete_user(U, <<"clearcut-test">>) || U <- [${binaries(users)}]], ok.`,
  ]);
}, 60_000);

describe('the generated RabbitMQ permissions on the real broker', () => {
  it('let the gateway declare the whole topology, consume jobs and publish tasks and results', async () => {
    expect(await attempt(as('gateway'), (channel) => declareTopology(channel, gatewayTopology(names)))).toBe(
      'ok',
    );
    expect(await attempt(as('gateway'), consume(names.jobsQueue))).toBe('ok');
    expect(await attempt(as('gateway'), consume(names.eventsQueue))).toBe('ok');
    expect(await attempt(as('gateway'), publish(names.tasksExchange, 'normal'))).toBe('ok');
    expect(await attempt(as('gateway'), publish(names.resultsExchange, 'acme.job-1.accepted'))).toBe('ok');
    expect(await attempt(as('gateway'), (channel) => channel.assertQueue('clearcut.elsewhere'))).toBe(
      'refused',
    );
  });

  it('let a worker declare what it uses, consume tasks, park retries and dead letters, replay', async () => {
    // As src/worker/worker.ts declares: the gateway's topology (either may start first) and its own queues.
    const declares = (channel: ConfirmChannel) =>
      declareTopology(channel, {
        exchanges: gatewayTopology(names).exchanges,
        queues: [...gatewayTopology(names).queues, ...worker.queues],
      });
    expect(await attempt(as('worker'), declares)).toBe('ok');
    expect(await attempt(as('worker'), consume(names.tasksQueue))).toBe('ok');
    expect(await attempt(as('worker'), consume(names.priorityTasksQueue))).toBe('ok');
    const { exchange: retryExchange, routingKey: retryKey } = worker.retryRoute('normal', 1);
    expect(await attempt(as('worker'), publish(retryExchange, retryKey))).toBe('ok');
    expect(await attempt(as('worker'), publish(worker.deadLetterRoute.exchange, 'tasks'))).toBe('ok');
    // No write on the default exchange: a worker cannot drop messages into the jobs or events inbox.
    expect(await attempt(as('worker'), publish('', worker.retryQueue('normal', 1)))).toBe('refused');
    expect(await attempt(as('worker'), publish('', names.eventsQueue))).toBe('refused');
    expect(await attempt(as('worker'), (channel) => channel.get(worker.deadLetterQueue))).toBe('ok');
    expect(await attempt(as('worker'), publish(names.tasksExchange, 'priority'))).toBe('ok');
    expect(await attempt(as('worker'), publish(names.resultsExchange, 'acme.job-1.accepted'))).toBe(
      'refused',
    );
    expect(await attempt(as('worker'), (channel) => channel.assertQueue('clearcut.elsewhere'))).toBe(
      'refused',
    );
    expect(await attempt(as('worker'), (channel) => channel.assertExchange('clearcut.other', 'topic'))).toBe(
      'refused',
    );
  });

  it('let the shared producer publish jobs, follow no results, and nothing else', async () => {
    expect(await attempt(as('producer'), publish(names.jobsExchange))).toBe('ok');
    // The SDK's own follower (the attempt closes its channel).
    const follow = (channel: ConfirmChannel) =>
      followJobResults(channel, names.resultsExchange, 'acme', 'job-1');
    expect(await attempt(as('producer'), follow)).toBe('refused');
    // The jobs inbox is not the jobs exchange: write on one is no right on the other.
    const bindInbox = (channel: ConfirmChannel) =>
      channel.bindQueue(names.jobsQueue, names.resultsExchange, '#');
    expect(await attempt(as('producer'), bindInbox)).toBe('refused');
    const loopResults = (channel: ConfirmChannel) =>
      channel.bindExchange(names.jobsExchange, names.resultsExchange, '#');
    expect(await attempt(as('producer'), loopResults)).toBe('refused');
    expect(await attempt(as('producer'), publish(names.tasksExchange, 'normal'))).toBe('refused');
    expect(await attempt(as('producer'), publish(names.eventsExchange))).toBe('refused');
    expect(await attempt(as('producer'), publish('', names.jobsQueue))).toBe('refused');
    expect(await attempt(as('producer'), consume(names.jobsQueue))).toBe('refused');
    expect(await attempt(as('producer'), (channel) => channel.purgeQueue(names.jobsQueue))).toBe('refused');
    expect(await attempt(as('producer'), (channel) => channel.deleteQueue(names.jobsQueue))).toBe('refused');
  });

  it("limit a tenant's producer to its own result routing keys", async () => {
    const follow = (tenant?: string) => async (channel: ConfirmChannel) => {
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, names.resultsExchange, `${tenant ?? '*'}.job-1.#`);
    };
    expect(await attempt(as('acme'), follow('acme'))).toBe('ok');
    expect(await attempt(as('acme'), follow('globex'))).toBe('refused');
    expect(await attempt(as('acme'), follow())).toBe('refused');
    // The SDK's follower binds `<tenant>.<job id>.#`.
    const sdk = (channel: ConfirmChannel) =>
      followJobResults(channel, names.resultsExchange, 'acme', 'job-1');
    expect(await attempt(as('acme'), sdk)).toBe('ok');
    // Exchange-to-exchange bindings are held to the topic permission too.
    const loop = (key: string) => (channel: ConfirmChannel) =>
      channel.bindExchange(names.jobsExchange, names.resultsExchange, key);
    expect(await attempt(as('acme'), loop('#'))).toBe('refused');
    expect(await attempt(as('acme'), loop('globex.#'))).toBe('refused');
  });

  it('let the storage system declare and publish to the events exchange as MinIO does, and nothing else', async () => {
    const minio = async (channel: ConfirmChannel) => {
      await channel.assertExchange(names.eventsExchange, 'fanout', {
        durable: true,
        autoDelete: false,
        internal: false,
      });
      await publish(names.eventsExchange, 's3')(channel);
    };
    expect(await attempt(as('storage'), minio)).toBe('ok');
    expect(await attempt(as('storage'), publish(names.jobsExchange))).toBe('refused');
    expect(await attempt(as('storage'), consume(names.eventsQueue))).toBe('refused');
    expect(await attempt(as('storage'), (channel) => channel.deleteQueue(names.eventsQueue))).toBe('refused');
    expect(
      await attempt(as('storage'), (channel) => channel.assertExchange(names.jobsExchange, 'fanout')),
    ).toBe('refused');
  });

  it('let the autoscaler read queue depths but not messages', async () => {
    expect(await attempt(as('autoscaler'), (channel) => channel.checkQueue(names.tasksQueue))).toBe('ok');
    expect(await attempt(as('autoscaler'), consume(names.tasksQueue))).toBe('refused');
  });
});
