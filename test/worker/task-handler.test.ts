import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { TaskInput } from '../../src/contracts/task.js';
import { TransientError } from '../../src/errors.js';
import type { TaskCompletion, TaskOutcome } from '../../src/jobs/task-completion.js';
import type { TaskRows } from '../../src/jobs/task-rows.js';
import type { Delivery, OutboundMessage, Publisher } from '../../src/queue/bus.js';
import { topologyNames } from '../../src/queue/topology.js';
import { workerTopology } from '../../src/queue/worker-topology.js';
import { deadLetterHeaders } from '../../src/worker/dead-letters.js';
import { createWorkerMetrics } from '../../src/worker/metrics.js';
import type { TaskProcessorDeps } from '../../src/worker/process-task.js';
import { handleDelivery, type TaskHandlerDeps } from '../../src/worker/task-handler.js';

// The decisions of handleDelivery — ack, retry queue, dead-letter queue, requeue — with the task
// rows, the broker and the work itself replaced by fakes. The real paths (PostgreSQL, RabbitMQ,
// S3, ONNX Runtime) are covered by the worker's integration tests.

const maxAttempts = 3;
const topology = workerTopology(topologyNames('t'), [1_000, 5_000]);
const task: TaskInput = {
  version: 1,
  taskId: 'task-1',
  tenant: 'acme',
  jobId: 'job-1',
  item: 0,
  keyId: 'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd',
  source: { bucket: 'catalog', key: 'shoes/red.jpg' },
  output: { bucket: 'cutouts', prefix: 'shoes/' },
  renditions: [{ kind: 'cutout' }],
  model: 'u2net',
  attempt: 1,
  createdAt: new Date().toISOString(),
};
const readAndWrite = [
  { bucket: 'catalog', prefix: '', access: 'read' },
  { bucket: 'cutouts', prefix: '', access: 'write' },
] as const;

/** A delivery of `body` that went through the retry queues `retries` times. */
function delivery(body: unknown = task, retries = 0): Delivery {
  const deaths = [{ reason: 'expired', count: retries, queue: 't.tasks.retry.normal.1000ms' }];
  return {
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    messageId: 'task-1',
    contentType: 'application/json',
    headers: retries > 0 ? { 'x-death': deaths } : {},
    redelivered: false,
    tag: 1,
  };
}

interface Harness {
  deps: TaskHandlerDeps;
  published: OutboundMessage[];
  completed: { attempt: number; outcome: TaskOutcome }[];
  settled: ('ack' | 'requeue')[];
  results: () => Promise<Record<string, number>>;
}

interface Setup {
  status?: string | undefined | Error;
  complete?: Error;
  publish?: Error;
  /** What the work does: the first step that reaches outside is the grants lookup. */
  grants?: readonly { bucket: string; prefix: string; access: 'read' | 'write' }[] | Error;
  engine?: Error;
}

function harness(setup: Setup = {}): Harness {
  const published: OutboundMessage[] = [];
  const completed: Harness['completed'] = [];
  const settled: Harness['settled'] = [];
  const tasks: TaskRows = {
    async status() {
      if (setup.status instanceof Error) throw setup.status;
      return 'status' in setup ? setup.status : 'queued';
    },
    async complete({ attempt }, outcome): Promise<TaskCompletion> {
      if (setup.complete) throw setup.complete;
      completed.push({ attempt, outcome });
      return { applied: true };
    },
  };
  const publisher: Publisher = {
    async publish(messages) {
      if (setup.publish) throw setup.publish;
      published.push(...messages);
    },
    async close() {},
  };
  const processor: TaskProcessorDeps = {
    store: {} as TaskProcessorDeps['store'],
    grantsOf: async () => {
      if (setup.grants instanceof Error) throw setup.grants;
      return setup.grants ?? readAndWrite;
    },
    engineFor: async () => {
      throw setup.engine ?? new Error('the fake has no engine');
    },
    limits: {} as TaskProcessorDeps['limits'],
  };
  const registry = new Registry();
  const metrics = createWorkerMetrics(registry);
  const deps: TaskHandlerDeps = {
    tasks,
    publisher,
    topology,
    processor,
    maxAttempts,
    metrics,
    log: pino({ level: 'silent' }),
  };
  const results = async () => {
    const { values } = await metrics.tasks.get();
    return Object.fromEntries(values.map((value) => [String(value.labels.result), value.value]));
  };
  return { deps, published, completed, settled, results };
}

async function handle(h: Harness, message: Delivery, signal?: AbortSignal): Promise<void> {
  await handleDelivery(
    message,
    'normal',
    { ack: () => h.settled.push('ack'), requeue: () => h.settled.push('requeue') },
    h.deps,
    signal,
  );
}

describe('a delivery that cannot be a task', () => {
  it('goes to the dead-letter queue with invalid_task and is acked', async () => {
    const h = harness();
    await handle(h, delivery('{not json'));
    expect(h.settled).toEqual(['ack']);
    expect(h.published).toHaveLength(1);
    expect(h.published[0]).toMatchObject(topology.deadLetterRoute);
    expect(h.published[0]!.headers).toMatchObject({
      [deadLetterHeaders.code]: 'invalid_task',
      [deadLetterHeaders.attempts]: 1,
    });
    expect(h.published[0]!.body.toString()).toBe('{not json');
    expect(h.completed).toEqual([]);
    expect(await h.results()).toEqual({ dead_lettered: 1 });
  });

  it('names the fields that break the contract', async () => {
    const h = harness();
    await handle(h, delivery({ ...task, tenant: 'Acme Corp' }));
    expect(String(h.published[0]!.headers![deadLetterHeaders.message])).toMatch(
      /^the task does not match the task contract: tenant: /,
    );
  });
});

describe('a task that is not queued any more', () => {
  it.each([
    ['already ended (a redelivered copy)', 'succeeded'],
    ['without a row', undefined],
  ])('is acked without work when %s', async (_, status) => {
    const h = harness({ status, grants: new Error('must not be called') });
    await handle(h, delivery());
    expect(h.settled).toEqual(['ack']);
    expect(h.published).toEqual([]);
    expect(h.completed).toEqual([]);
    expect(await h.results()).toEqual({ duplicate: 1 });
  });
});

describe('the task rows cannot be read', () => {
  it('parks the task in the retry queue of its next delay, then acks', async () => {
    const h = harness({ status: new Error('connection terminated') });
    await handle(h, delivery());
    expect(h.published.map((message) => [message.exchange, message.routingKey])).toEqual([
      Object.values(topology.retryRoute('normal', 1)),
    ]);
    expect(h.settled).toEqual(['ack']);
  });

  it('dead-letters it once the attempts are spent', async () => {
    const h = harness({ status: new Error('connection terminated') });
    await handle(h, delivery(task, maxAttempts - 1));
    expect(h.published).toHaveLength(1);
    expect(h.published[0]).toMatchObject(topology.deadLetterRoute);
    expect(h.published[0]!.headers).toMatchObject({
      [deadLetterHeaders.code]: 'internal_error',
      [deadLetterHeaders.attempts]: maxAttempts,
    });
    expect(h.settled).toEqual(['ack']);
  });
});

describe('the work fails', () => {
  it('with a permanent error: the item fails at once (quota refunded, it never ran) and is acked', async () => {
    const h = harness({ grants: [] });
    await handle(h, delivery());
    expect(h.published).toEqual([]);
    expect(h.completed).toEqual([
      {
        attempt: 1,
        outcome: {
          status: 'failed',
          error: { code: 'access_denied', message: expect.stringContaining('no read grant') },
          refund: true,
        },
      },
    ]);
    expect(h.settled).toEqual(['ack']);
    expect(await h.results()).toEqual({ failed: 1 });
  });

  it('with a transient error: a retry carrying its x-death history, no row written, acked', async () => {
    const h = harness({ engine: new TransientError('storage_unavailable', 'S3 answered 503') });
    const message = delivery(task, 1);
    await handle(h, message);
    expect(h.published).toEqual([
      {
        ...topology.retryRoute('normal', 2),
        body: message.body,
        messageId: 'task-1',
        headers: { 'x-death': (message.headers as Record<string, unknown>)['x-death'] },
      },
    ]);
    expect(h.completed).toEqual([]);
    expect(h.settled).toEqual(['ack']);
    expect(await h.results()).toEqual({ retried: 1 });
  });

  it('with a transient error on the last attempt: dead letter, then the item fails, then the ack', async () => {
    const h = harness({ engine: new TransientError('storage_unavailable', 'S3 answered 503') });
    await handle(h, delivery(task, maxAttempts - 1));
    expect(h.published).toHaveLength(1);
    expect(h.published[0]).toMatchObject(topology.deadLetterRoute);
    expect(h.completed).toEqual([
      {
        attempt: maxAttempts,
        outcome: {
          status: 'failed',
          error: {
            code: 'storage_unavailable',
            message: `gave up after ${maxAttempts} attempts: S3 answered 503`,
          },
          refund: true,
        },
      },
    ]);
    expect(h.settled).toEqual(['ack']);
    expect(await h.results()).toEqual({ dead_lettered: 1 });
  });

  it('because the worker is shutting down: back to the queue untouched, not a failed attempt', async () => {
    const abort = new AbortController();
    abort.abort();
    const h = harness({ grants: new Error('interrupted by the shutdown') });
    await handle(h, delivery(), abort.signal);
    expect(h.settled).toEqual(['requeue']);
    expect(h.published).toEqual([]);
    expect(h.completed).toEqual([]);
  });
});

describe('nothing can be made durable', () => {
  it('requeues when the retry queue cannot be reached', async () => {
    const h = harness({
      engine: new TransientError('storage_unavailable', 'S3 answered 503'),
      publish: new Error('channel closed'),
    });
    await handle(h, delivery());
    expect(h.settled).toEqual(['requeue']);
  });

  it('requeues an unreadable task when the dead-letter queue cannot be reached', async () => {
    const h = harness({ publish: new Error('channel closed') });
    await handle(h, delivery('[]'));
    expect(h.settled).toEqual(['requeue']);
  });

  it('retries a failed item whose result could not be recorded, instead of losing it', async () => {
    const h = harness({ grants: [], complete: new Error('connection terminated') });
    await handle(h, delivery());
    expect(h.published.map((message) => message.routingKey)).toEqual([
      topology.retryRoute('normal', 1).routingKey,
    ]);
    expect(h.settled).toEqual(['ack']);
  });

  it('dead-letters a failed item whose result could not be recorded on its last attempt', async () => {
    const h = harness({ grants: [], complete: new Error('connection terminated') });
    await handle(h, delivery(task, maxAttempts - 1));
    expect(h.published.map((message) => message.exchange)).toEqual([topology.deadLetterRoute.exchange]);
    expect(h.settled).toEqual(['ack']);
  });

  it('leaves a dead letter parked, once, when its item could not be recorded (dlq replay redoes it)', async () => {
    const h = harness({
      engine: new TransientError('storage_unavailable', 'S3 answered 503'),
      complete: new Error('connection terminated'),
    });
    await handle(h, delivery(task, maxAttempts - 1));
    expect(h.published.map((message) => message.exchange)).toEqual([topology.deadLetterRoute.exchange]);
    expect(h.settled).toEqual(['ack']);
  });
});
