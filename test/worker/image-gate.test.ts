import { expect, it } from 'vitest';
import { createImageGate } from '../../src/worker/image-gate.js';

it('lets two images in, holds the third until one leaves, in arrival order', async () => {
  const gate = createImageGate(2);
  const first = await gate.enter();
  await gate.enter();
  const order: string[] = [];
  const entered = (name: string) => (release: () => void) => {
    order.push(name);
    return release;
  };
  const third = gate.enter().then(entered('third'));
  const fourth = gate.enter().then(entered('fourth'));
  await Promise.resolve();
  expect(order).toEqual([]);
  first();
  (await third)();
  await fourth;
  expect(order).toEqual(['third', 'fourth']);
});

it('counts a release once however often it is called', async () => {
  const gate = createImageGate(1);
  const release = await gate.enter();
  release();
  release();
  await gate.enter();
  let entered = false;
  void gate.enter().then(() => {
    entered = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(entered).toBe(false);
});

it('gives up waiting when the signal aborts, and the slot goes to the next in line', async () => {
  const gate = createImageGate(1);
  const release = await gate.enter();
  const abort = new AbortController();
  const abandoned = gate.enter(abort.signal);
  const next = gate.enter();
  abort.abort(new Error('draining'));
  await expect(abandoned).rejects.toThrow('draining');
  release();
  await expect(next).resolves.toBeTypeOf('function');
  await expect(gate.enter(abort.signal)).rejects.toThrow('draining');
});
