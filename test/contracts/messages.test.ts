import { describe, expect, it } from 'vitest';
import { isRejectionReason, rejectionReasons } from '../../src/contracts/reasons.js';
import { type ResultEventInput, resultEventSchema } from '../../src/contracts/result-event.js';
import { type TaskInput, taskSchema } from '../../src/contracts/task.js';

const task: TaskInput = {
  version: 1,
  taskId: '123',
  tenant: 'acme',
  jobId: '9b2f6c1e-4d3a-4f8b-9c7e-2a1b3c4d5e6f',
  item: 0,
  keyId: 'ck_test_5rXqJ2mP8vN4kL7wZ9tB3cYd',
  source: { bucket: 'catalog', key: 'shoes/red.jpg' },
  output: { bucket: 'cutouts', prefix: 'shoes/' },
  renditions: [{ kind: 'cutout' }],
  model: 'u2net',
  attempt: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
};

describe('task', () => {
  it('carries everything a worker needs, with defaults filled', () => {
    const parsed = taskSchema.parse(task);
    expect(parsed.renditions).toEqual([{ kind: 'cutout', format: 'png' }]);
    expect(parsed.priority).toBe('normal');
  });

  it('tolerates fields a newer gateway adds, but checks the ones it knows', () => {
    expect(taskSchema.safeParse({ ...task, addedLater: true }).success).toBe(true);
    for (const broken of [
      { ...task, tenant: 'Acme Corp' },
      { ...task, jobId: 'a.b' },
      { ...task, attempt: 0 },
      { ...task, source: { bucket: 'catalog', key: 'a/../b.jpg' } },
      { ...task, output: { bucket: 'x', prefix: '' } },
      { ...task, createdAt: 'yesterday' },
      { ...task, version: 2 },
    ]) {
      expect(taskSchema.safeParse(broken).success).toBe(false);
    }
  });
});

describe('result events', () => {
  const at = '2026-01-01T00:00:01.000Z';
  const events: ResultEventInput[] = [
    {
      version: 1,
      kind: 'accepted',
      eventId: 'e1',
      at,
      tenant: 'acme',
      jobId: 'j1',
      keyId: null,
      items: null,
      model: 'u2net',
    },
    {
      version: 1,
      kind: 'rejected',
      eventId: 'e2',
      at,
      tenant: null,
      jobId: null,
      keyId: 'ck_live_garbage',
      reason: 'unknown_key',
      message: 'no such key',
    },
    {
      version: 1,
      kind: 'item.succeeded',
      eventId: 'e3',
      at,
      tenant: 'acme',
      jobId: 'j1',
      taskId: '7',
      item: 0,
      source: { bucket: 'catalog', key: 'a.jpg' },
      outputs: [
        {
          rendition: 'cutout',
          bucket: 'out',
          key: 'a.cutout.png',
          contentType: 'image/png',
          bytes: 10,
          width: 2,
          height: 2,
        },
      ],
      attempt: 1,
    },
    {
      version: 1,
      kind: 'item.failed',
      eventId: 'e4',
      at,
      tenant: 'acme',
      jobId: 'j1',
      taskId: '8',
      item: 1,
      source: { bucket: 'catalog', key: 'b.jpg' },
      error: { code: 'not_found', message: 'no such object' },
      attempt: 3,
    },
    {
      version: 1,
      kind: 'job.completed',
      eventId: 'e5',
      at,
      tenant: 'acme',
      jobId: 'j1',
      total: 2,
      succeeded: 1,
      failed: 1,
      manifest: { bucket: 'out', key: 'j1.results.jsonl' },
    },
  ];

  it('parses every kind', () => {
    expect(events.map((event) => resultEventSchema.parse(event).kind)).toEqual([
      'accepted',
      'rejected',
      'item.succeeded',
      'item.failed',
      'job.completed',
    ]);
  });

  it('refuses unknown kinds and reason codes, and rejected events without a reason', () => {
    expect(resultEventSchema.safeParse({ ...events[0], kind: 'started' }).success).toBe(false);
    expect(resultEventSchema.safeParse({ ...events[1], reason: 'nope' }).success).toBe(false);
    const { reason: _, ...noReason } = events[1] as Extract<ResultEventInput, { kind: 'rejected' }>;
    expect(resultEventSchema.safeParse(noReason).success).toBe(false);
  });
});

describe('rejection reasons', () => {
  it('are the stable codes of the protocol, each once', () => {
    expect(new Set(rejectionReasons).size).toBe(rejectionReasons.length);
    for (const reason of [
      'unknown_key',
      'bad_signature',
      'stale_timestamp',
      'replayed_nonce',
      'rate_limited',
      'duplicate',
    ]) {
      expect(isRejectionReason(reason)).toBe(true);
    }
    expect(isRejectionReason('Unknown_Key')).toBe(false);
    expect(isRejectionReason(undefined)).toBe(false);
  });
});
