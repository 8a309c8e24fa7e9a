import { expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../src/errors.js';
import { classifyFailure, decideFailure, retriesFromHeaders } from '../../src/worker/retry-policy.js';

it('counts retries from the expired x-death entries only', () => {
  expect(retriesFromHeaders(undefined)).toBe(0);
  expect(retriesFromHeaders({})).toBe(0);
  expect(retriesFromHeaders({ 'x-death': 'forged' })).toBe(0);
  expect(
    retriesFromHeaders({
      'x-death': [
        { queue: 'p.tasks.retry.normal.1000ms', reason: 'expired', count: 1 },
        { queue: 'p.tasks.retry.normal.5000ms', reason: 'expired', count: 2 },
        { queue: 'p.tasks', reason: 'rejected', count: 4 },
        { queue: 'x', reason: 'expired', count: -3 },
        null,
      ],
    }),
  ).toBe(3);
});

it('fails permanent errors at once, retries transient ones, and dead-letters after the last attempt', () => {
  const permanent = classifyFailure(new PermanentError('corrupt_image', 'bad'));
  const transient = classifyFailure(new TransientError('storage_unavailable', 'down'));
  expect(decideFailure(permanent, 0, 5)).toBe('fail');
  expect(decideFailure(transient, 0, 5)).toBe('retry');
  expect(decideFailure(transient, 3, 5)).toBe('retry');
  expect(decideFailure(transient, 4, 5)).toBe('dead-letter');
  expect(decideFailure(transient, 0, 1)).toBe('dead-letter');
});

it('treats untyped errors (bugs, driver errors) as transient, so they end in the dead-letter queue', () => {
  expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toEqual({
    transient: true,
    code: 'internal_error',
    message: 'Connection terminated unexpectedly',
  });
});
