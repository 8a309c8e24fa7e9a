import { expect, it } from 'vitest';
import { backoffDelay } from '../../src/queue/backoff.js';

const policy = { initialMs: 500, maxMs: 30_000 };

it('doubles from the first delay up to the cap, never below half of each step', () => {
  const lowest = [0, 1, 2, 3, 6, 7, 50].map((attempt) => backoffDelay(attempt, policy, () => 0));
  const highest = [0, 1, 2, 3, 6, 7, 50].map((attempt) => backoffDelay(attempt, policy, () => 1));
  expect(lowest).toEqual([250, 500, 1000, 2000, 15_000, 15_000, 15_000]);
  expect(highest).toEqual([500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
});

it('spreads processes that retry together over the upper half of the step', () => {
  const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(3, policy)));
  expect(waits.size).toBeGreaterThan(10);
  for (const wait of waits) {
    expect(wait).toBeGreaterThanOrEqual(2000);
    expect(wait).toBeLessThanOrEqual(4000);
  }
});
