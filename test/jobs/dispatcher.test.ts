import { describe, expect, it } from 'vitest';
import { type Job, jobSchema } from '../../src/contracts/job.js';
import { taskSchema } from '../../src/contracts/task.js';
import { dispatchRound } from '../../src/jobs/dispatcher.js';
import {
  type JobForTasks,
  type ReleasedTask,
  type TaskOutbox,
  taskOutbox,
} from '../../src/jobs/task-queue.js';
import { type UnreadableJob, unreadableJobGraceMs } from '../../src/jobs/unreadable-jobs.js';
import type { OutboundMessage, Publisher } from '../../src/queue/bus.js';
import { taskLaneRoutingKeys, topologyNames } from '../../src/queue/topology.js';

// One dispatch round with the task outbox and the broker replaced by fakes: what it releases,
// publishes and records, and what it gives back when the broker refuses. The SQL behind the
// outbox is tested against PostgreSQL in test/gateway/task-queue.test.ts.

const names = topologyNames('t');
const quantum = 2;
const options = { quantum, maxTenants: 3, leaseMs: 30_000, names };

const spec: Job = jobSchema.parse({
  version: 1,
  input: { bucket: 'catalog', keys: ['a.jpg'] },
  output: { bucket: 'cutouts', prefix: 'out/' },
  renditions: [{ kind: 'cutout' }, { kind: 'mask' }],
});
const jobs: JobForTasks[] = [
  {
    tenantId: 'acme',
    jobId: 'signed',
    keyId: 'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd',
    spec,
    model: 'u2net',
    lane: 'normal',
    createdAt: new Date('2026-01-01T00:00:00Z'),
  },
  {
    tenantId: 'globex',
    jobId: 'from-a-trigger',
    keyId: null,
    spec: { ...spec, priority: 'high' },
    model: 'u2netp',
    lane: 'priority',
    createdAt: new Date('2026-01-02T00:00:00Z'),
  },
];
let nextId = 1;
const task = (job: Pick<JobForTasks, 'tenantId' | 'jobId'>): ReleasedTask => ({
  id: String(nextId++),
  tenantId: job.tenantId,
  jobId: job.jobId,
  item: nextId,
  sourceBucket: 'catalog',
  sourceKey: `photos/${nextId}.jpg`,
});

/** Jobs the outbox cannot read (their stored specs fail the job contract), admitted long ago and just now. */
const unreadable: UnreadableJob = {
  tenantId: 'initech',
  jobId: 'edited',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  problem: 'jobs.spec of job … does not match',
};
const unreadableYoung: UnreadableJob = {
  ...unreadable,
  jobId: 'newer',
  createdAt: new Date(Date.now() - unreadableJobGraceMs / 2),
};

interface FakeOutbox extends TaskOutbox {
  readonly calls: string[];
  readonly published: string[];
  readonly abandoned: string[];
  readonly failed: string[];
}

/** An outbox whose release rounds hand out `rounds` in turn, then nothing; `reclaimable` once. */
function fakeOutbox(rounds: ReleasedTask[][], reclaimable: ReleasedTask[] = []): FakeOutbox {
  const calls: string[] = [];
  const published: string[] = [];
  const abandoned: string[] = [];
  const failed: string[] = [];
  return {
    calls,
    published,
    abandoned,
    failed,
    releasing: (work) =>
      work(async (given) => {
        calls.push(`release ${given.quantum}/${given.maxTenants}`);
        return rounds.shift() ?? [];
      }),
    async reclaimUnpublished(limit, leaseMs) {
      calls.push(`reclaim ${limit} ${leaseMs}`);
      const once = reclaimable;
      reclaimable = [];
      return once;
    },
    async jobsForTasks(refs) {
      calls.push(`jobs ${refs.length}`);
      return [...jobs, unreadable, unreadableYoung].filter((job) =>
        refs.some((ref) => ref.tenantId === job.tenantId && ref.jobId === job.jobId),
      );
    },
    async failTasksOfUnreadableJob(ids, job) {
      calls.push(`fail ${job.jobId}`);
      failed.push(...ids);
    },
    async markPublished(ids) {
      calls.push('mark');
      published.push(...ids);
    },
    async abandonLeases(ids) {
      calls.push('abandon');
      abandoned.push(...ids);
    },
  };
}

function fakePublisher(refuse?: Error): Publisher & { batches: OutboundMessage[][] } {
  const batches: OutboundMessage[][] = [];
  return {
    batches,
    async publish(messages) {
      if (refuse) throw refuse;
      batches.push([...messages]);
    },
    async close() {},
  };
}

describe('a dispatch round', () => {
  it('releases while rounds come back full, then publishes released and reclaimed tasks in one batch', async () => {
    const [acme, globex] = jobs as [JobForTasks, JobForTasks];
    const full = [task(acme), task(globex)];
    const partial = [task(acme)];
    const reclaimed = [task(globex)];
    const outbox = fakeOutbox(
      [full, full.map((t) => ({ ...t, id: `${t.id}b` })), partial, [task(acme)]],
      reclaimed,
    );
    const publisher = fakePublisher();
    const lanes: [string, number][] = [];

    const count = await dispatchRound(outbox, {
      ...options,
      publisher,
      onPublished: (lane, n) => lanes.push([lane, n]),
    });

    // Two full rounds, one partial (the fourth is never asked for), one reclaim, one publish.
    expect(outbox.calls).toEqual([
      'release 2/3',
      'release 2/3',
      'release 2/3',
      `reclaim ${quantum * 3} 30000`,
      'jobs 2',
      'mark',
    ]);
    expect(count).toBe(6);
    expect(publisher.batches).toHaveLength(1);
    const ids = publisher.batches[0]!.map((message) => message.messageId);
    expect(outbox.published).toEqual(ids);
    expect(ids).toEqual(
      [...full, ...full.map((t) => ({ ...t, id: `${t.id}b` })), ...partial, ...reclaimed].map((t) => t.id),
    );
    expect(lanes).toEqual([
      ['normal', 3],
      ['priority', 3],
    ]);
  });

  it('takes the other nine rounds in one statement when one tenant alone filled the first', async () => {
    const [acme] = jobs as [JobForTasks];
    const first = [task(acme), task(acme)];
    const rest = Array.from({ length: 18 }, () => task(acme));
    const outbox = fakeOutbox([first, rest, [task(acme)]]);
    const publisher = fakePublisher();

    expect(await dispatchRound(outbox, { ...options, publisher })).toBe(20);
    // 2 in the first round, then up to 9 × 2 at once; the third batch is never asked for.
    expect(outbox.calls).toEqual([
      'release 2/3',
      'release 18/3',
      `reclaim ${quantum * 3} 30000`,
      'jobs 1',
      'mark',
    ]);
    expect(publisher.batches[0]!.map((message) => message.messageId)).toEqual(
      [...first, ...rest].map((t) => t.id),
    );
  });

  it('publishes each task as the task contract, to its job lane, with the task id as message id', async () => {
    const [acme, globex] = jobs as [JobForTasks, JobForTasks];
    const released = [task(acme), task(globex)];
    const publisher = fakePublisher();
    await dispatchRound(fakeOutbox([released]), { ...options, publisher });
    const [signed, triggered] = publisher.batches[0]!.map((message) => ({
      message,
      body: taskSchema.parse(JSON.parse(message.body.toString())),
    }));
    expect(signed!.message).toMatchObject({
      exchange: names.tasksExchange,
      routingKey: taskLaneRoutingKeys.normal,
      messageId: released[0]!.id,
    });
    expect(signed!.body).toMatchObject({
      taskId: released[0]!.id,
      tenant: 'acme',
      jobId: 'signed',
      keyId: acme.keyId,
      source: { bucket: 'catalog', key: released[0]!.sourceKey },
      output: spec.output,
      renditions: spec.renditions,
      model: 'u2net',
      priority: 'normal',
      attempt: 1,
      createdAt: acme.createdAt.toISOString(),
    });
    expect(triggered!.message.routingKey).toBe(taskLaneRoutingKeys.priority);
    expect(triggered!.body).not.toHaveProperty('keyId');
    expect(triggered!.body).toMatchObject({ model: 'u2netp', priority: 'high' });
  });

  it('does nothing and says so when there is nothing to release or reclaim', async () => {
    const outbox = fakeOutbox([]);
    const publisher = fakePublisher();
    expect(await dispatchRound(outbox, { ...options, publisher })).toBe(0);
    expect(publisher.batches).toEqual([]);
    expect(outbox.calls).toEqual(['release 2/3', `reclaim ${quantum * 3} 30000`]);
  });

  it("publishes the other jobs' tasks, then fails those of an old job it cannot read and leaves a young one's", async () => {
    const [acme] = jobs as [JobForTasks];
    const good = [task(acme), task(acme)];
    const bad = [task(unreadable), task(unreadable)];
    const young = task(unreadableYoung);
    const outbox = fakeOutbox([[good[0]!, bad[0]!, young, good[1]!, bad[1]!]]);
    const publisher = fakePublisher();
    const reported: [string, number, boolean][] = [];

    const count = await dispatchRound(outbox, {
      ...options,
      publisher,
      onUnreadableJob: (job, tasks, failed) => reported.push([job.jobId, tasks, failed]),
    });

    expect(count).toBe(5);
    expect(publisher.batches.map((batch) => batch.map((message) => message.messageId))).toEqual([
      good.map((t) => t.id),
    ]);
    expect(outbox.published).toEqual(good.map((t) => t.id));
    // Failed only after the others were published; the young job's task keeps its lease.
    expect(outbox.calls.slice(-2)).toEqual(['mark', 'fail edited']);
    expect(outbox.failed).toEqual(bad.map((t) => t.id));
    expect(outbox.abandoned).toEqual([]);
    expect(reported).toEqual([
      ['edited', 2, true],
      ['newer', 1, false],
    ]);
  });

  it('publishes nothing when every task released belongs to a job it cannot read', async () => {
    const outbox = fakeOutbox([[task(unreadable)]]);
    const publisher = fakePublisher();
    expect(await dispatchRound(outbox, { ...options, publisher })).toBe(1);
    expect(publisher.batches).toEqual([]);
    expect(outbox.calls).toEqual(['release 2/3', `reclaim ${quantum * 3} 30000`, 'jobs 1', 'fail edited']);
  });

  it('gives the leases back at once when the broker refuses, marks nothing, and fails the round', async () => {
    const released = [task(jobs[0]!)];
    const outbox = fakeOutbox([released]);
    const refused = new Error('not connected to the broker');
    await expect(dispatchRound(outbox, { ...options, publisher: fakePublisher(refused) })).rejects.toBe(
      refused,
    );
    expect(outbox.abandoned).toEqual([released[0]!.id]);
    expect(outbox.published).toEqual([]);
  });
});

describe('the task outbox', () => {
  it('reads each job spec back through the job contract, naming the row it cannot read', async () => {
    const row = {
      tenantId: 'acme',
      jobId: 'j1',
      keyId: null,
      model: 'u2net',
      lane: 'normal',
      createdAt: new Date(),
    };
    const rows = [
      { ...row, spec },
      { ...row, jobId: 'j2', spec: { ...spec, renditions: 'all' } },
    ];
    const on = (answer: unknown[]) => {
      const q = { query: async () => answer as never[] };
      return { ...q, transaction: <T>(work: (tx: typeof q) => Promise<T>) => work(q) };
    };
    const [good, bad] = await taskOutbox(on(rows)).jobsForTasks([
      { tenantId: 'acme', jobId: 'j1' },
      { tenantId: 'acme', jobId: 'j2' },
    ]);
    expect(good).toEqual({ ...row, spec });
    expect(bad).toEqual({
      tenantId: 'acme',
      jobId: 'j2',
      createdAt: row.createdAt,
      problem: expect.stringMatching(/^jobs\.spec of job acme\/j2 does not match its contract: renditions: /),
    });
  });
});
