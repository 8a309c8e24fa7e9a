import { describe, expect, it } from 'vitest';
import { createDecodeSlots, DecodeLineFull } from '../../src/api/remove-decode-slots.js';

// Pure logic: the bound on concurrent decodes, with work that finishes when the test says so.

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('decode slots', () => {
  it('runs at most `slots` pieces of work at once, the rest in arrival order, also after a failure', async () => {
    const slots = createDecodeSlots(2, 2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map(({ opened }, index) =>
      slots.run(async () => {
        started.push(index);
        await opened;
        if (index === 0) throw new Error('corrupt');
        return index;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[0]!.open();
    await expect(runs[0]).rejects.toThrow('corrupt');
    expect(started).toEqual([0, 1, 2]);
    gates[2]!.open();
    await expect(runs[2]).resolves.toBe(2);
    expect(started).toEqual([0, 1, 2, 3]);
    gates[1]!.open();
    gates[3]!.open();
    expect(await Promise.all([runs[1], runs[3]])).toEqual([1, 3]);
    // Every slot is free again: two start at once.
    const more = [gate(), gate()];
    const again: number[] = [];
    const next = more.map(({ opened }, index) =>
      slots.run(async () => {
        again.push(index);
        await opened;
      }),
    );
    await Promise.resolve();
    expect(again).toEqual([0, 1]);
    for (const g of more) g.open();
    await Promise.all(next);
  });

  it('refuses work at once, without running it, when the line is full, and takes it again once there is room', async () => {
    const slots = createDecodeSlots(1, 1);
    const first = gate();
    const second = gate();
    const running = slots.run(() => first.opened);
    const inLine = slots.run(() => second.opened);
    let ran = false;
    await expect(
      slots.run(async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(DecodeLineFull);
    expect(ran).toBe(false);
    first.open();
    await running;
    // The one in line holds the slot now; the line is empty again.
    const next = slots.run(async () => 'next');
    second.open();
    await inLine;
    await expect(next).resolves.toBe('next');
  });
});
