import { expect } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { smallProductPng } from '../support/images.js';
import { untilValue } from '../support/until.js';
import type { PipelineHarness } from './pipeline-harness.js';

// A job that a test interrupts (cut connections, a restarted broker or database) part-way through,
// and the proof afterwards that nothing was lost or done twice.

export interface JobProgress {
  /** Resolves once at least `count` of the job's tasks have succeeded. */
  succeeded(count: number): Promise<void>;
  /** Tasks not yet succeeded: a fault injected while this is 0 would prove nothing. */
  unfinished(): Promise<number>;
}

export interface InterruptedJobOptions {
  readonly images?: number;
  /** Also check the result events (the test's collector must have survived the fault). */
  readonly events?: boolean;
}

/**
 * Submits a job of small images with two renditions, runs `fault` while it is in progress, waits
 * for the job to complete and checks exactly one output set per image: every task succeeded once,
 * the output bucket holds exactly the expected keys, and (with `events`) one item event per image.
 */
export async function runInterruptedJob(
  p: PipelineHarness,
  label: string,
  fault: (progress: JobProgress) => Promise<void>,
  { images = 12, events = true }: InterruptedJobOptions = {},
): Promise<void> {
  const input = await p.s3.createBucket(`${label}-in`);
  const output = await p.s3.createBucket(`${label}-out`);
  const keys = Array.from({ length: images }, (_, i) => `products/${label}-${i}.png`);
  for (const [i, key] of keys.entries()) {
    await p.s3.store.put(input, key, await smallProductPng(i), { contentType: 'image/png' });
  }
  const key = await p.tenant(input, output);
  const jobId = await p.submit(key, {
    version: 1,
    input: { bucket: input, keys },
    output: { bucket: output, prefix: 'cut/' },
    renditions: [
      { kind: 'cutout', format: 'png' },
      { kind: 'mask', format: 'png' },
    ],
    model: 'u2netp',
  });

  const succeeded = async () =>
    (await p.tasks(key.tenantId, jobId).catch(() => [])).filter((row) => row.status === 'succeeded').length;
  await fault({
    async succeeded(count) {
      await untilValue(async () => (await succeeded()) >= count, {
        what: `${count} tasks of ${jobId} to succeed`,
        timeoutMs: 60_000,
      });
    },
    unfinished: async () => images - (await succeeded()),
  });

  expect(await p.waitForJob(key.tenantId, jobId, 240_000)).toEqual({
    state: 'completed',
    total: images,
    succeeded: images,
    failed: 0,
  });
  const rows = await p.tasks(key.tenantId, jobId);
  expect(rows.map((row) => [row.status, row.outputs?.length])).toEqual(keys.map(() => ['succeeded', 2]));
  const expected = keys.flatMap((k) => {
    const stem = k.replace(/\.png$/, '');
    return [`cut/${stem}.cutout.png`, `cut/${stem}.mask.png`];
  });
  const written = await p.keys(output);
  expect(written.filter((k) => !k.startsWith('cut/_clearcut/')).sort()).toEqual(expected.sort());

  if (!events) return;
  const itemEvents = () =>
    p.h.results.messages
      .map((m) => m.json() as ResultEvent)
      .filter((e) => e.jobId === jobId && (e.kind === 'item.succeeded' || e.kind === 'item.failed'));
  await untilValue(async () => new Set(itemEvents().map((e) => e.eventId)).size >= images, {
    what: 'every item event',
    timeoutMs: 60_000,
  });
  // The relay may publish an event twice (at-least-once); consumers dedupe by event id. What must
  // not happen is a second, different event for an item.
  const distinct = new Map(itemEvents().map((e) => [e.eventId, e]));
  expect(
    [...distinct.values()].map((e) => (e.kind === 'item.succeeded' ? e.item : -1)).sort((a, b) => a - b),
  ).toEqual(keys.map((_, i) => i));
}
