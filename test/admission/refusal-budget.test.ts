import { describe, expect, it } from 'vitest';
import { createRefusalBudget } from '../../src/admission/refusals.js';

describe('refusal budget', () => {
  it('allows `limit` refusals per interval, then none until the next interval, which forgets the counters', () => {
    let now = 1_000;
    const budget = createRefusalBudget(2, 60_000, () => now);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    budget.setCounter('job\nunknown_key', '42');
    now += 59_999;
    expect(budget.take()).toBe(false);
    expect(budget.counter('job\nunknown_key')).toBe('42');
    now += 1;
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    expect(budget.counter('job\nunknown_key')).toBeUndefined();
  });

  it('a limit of 0 records every unverified refusal as a count', () => {
    expect(createRefusalBudget(0, 1000, () => 0).take()).toBe(false);
  });
});
