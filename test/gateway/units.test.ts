import { describe, expect, it } from 'vitest';
import { forbiddenLocation, planJob } from '../../src/admission/job-plan.js';
import { run as gatewayCommand } from '../../src/cli/commands/gateway.js';
import type { CliIo } from '../../src/cli/io.js';
import { isTransientDatabaseError } from '../../src/db/transient-errors.js';
import { UsageError } from '../../src/errors.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { createBatchInbox } from '../../src/ops/batch-inbox.js';
import type { Grant } from '../../src/policy/grants.js';

// Pure parts of the gateway, alone.

describe('batch inbox', () => {
  it('hands out a full batch at once and the rest after the window', async () => {
    const inbox = createBatchInbox<number>(3, 20);
    for (const n of [1, 2, 3, 4]) inbox.push(n);
    expect(await inbox.next()).toEqual([1, 2, 3]);
    expect(await inbox.next()).toEqual([4]);
  });

  it('waits for the first message, then at most the window', async () => {
    const inbox = createBatchInbox<string>(10, 10);
    const next = inbox.next();
    setTimeout(() => inbox.push('a'), 5);
    setTimeout(() => inbox.push('b'), 6);
    expect(await next).toEqual(['a', 'b']);
  });

  it('drains what is left after close, then returns empty batches', async () => {
    const inbox = createBatchInbox<number>(10, 60_000);
    inbox.push(1);
    inbox.close();
    expect(await inbox.next()).toEqual([1]);
    expect(await inbox.next()).toEqual([]);
  });
});

describe('database errors', () => {
  it('retries an absent or overloaded database, not a statement that is wrong', () => {
    expect(isTransientDatabaseError({ code: '08006', message: 'connection failure' })).toBe(true);
    expect(isTransientDatabaseError({ code: '40P01', message: 'deadlock detected' })).toBe(true);
    expect(isTransientDatabaseError({ code: '57P01', message: 'terminating connection' })).toBe(true);
    expect(isTransientDatabaseError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' })).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientDatabaseError({ code: '23514', message: 'violates check constraint' })).toBe(false);
    expect(isTransientDatabaseError({ code: '22P02', message: 'invalid input syntax' })).toBe(false);
    expect(isTransientDatabaseError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(
      false,
    );
  });
});

describe('job plan', () => {
  const context = modelCatalog({ defaultModel: 'u2net' });
  const body = (job: object) => ({
    bytes: Buffer.from(JSON.stringify({ version: 1, output: { bucket: 'out-b', prefix: 'cut/' }, ...job })),
  });

  it('expands keys in input order, applies the default model and rendition, ranks high priority first', () => {
    const planned = planJob(
      body({ input: { bucket: 'in-b', keys: ['x/2.jpg', 'x/1.jpg'] }, priority: 'high' }),
      context,
    );
    if (!('plan' in planned)) throw new Error(JSON.stringify(planned));
    expect(planned.plan.sources).toEqual([
      { bucket: 'in-b', key: 'x/2.jpg' },
      { bucket: 'in-b', key: 'x/1.jpg' },
    ]);
    expect(planned.plan.model).toBe('u2net');
    expect(planned.plan.laneRank).toBe(0);
    expect(planned.plan.job.renditions).toEqual([{ kind: 'cutout', format: 'png' }]);
  });

  it('rejects what it cannot run, with the reason code', () => {
    const reason = (job: object) => {
      const planned = planJob(body(job), context);
      return 'decision' in planned && planned.decision.outcome === 'rejected'
        ? planned.decision.rejection.reason
        : 'admitted';
    };
    expect(reason({ input: { bucket: 'in-b', key: 'a.jpg' }, model: 'no-such-model' })).toBe('unknown_model');
    expect(reason({ input: { manifest: { bucket: 'in-b', key: 'list.csv' } } })).toBe('admitted');
    expect(reason({ input: { bucket: 'in-b', key: '../a.jpg' } })).toBe('invalid_body');
  });

  it('needs read on every source and write on the output', () => {
    const planned = planJob(body({ input: { bucket: 'in-b', keys: ['a/1.jpg', 'b/2.jpg'] } }), context);
    if (!('plan' in planned)) throw new Error('not planned');
    const grants: Grant[] = [
      { bucket: 'in-b', prefix: 'a/', access: 'read' },
      { bucket: 'out-b', prefix: '', access: 'write' },
    ];
    expect(forbiddenLocation(planned.plan, grants)).toBe('no read grant on s3://in-b/b/2.jpg');
    grants.push({ bucket: 'in-b', prefix: 'b/', access: 'read' });
    expect(forbiddenLocation(planned.plan, grants)).toBeUndefined();
    expect(forbiddenLocation(planned.plan, grants.slice(0, 1).concat(grants.slice(2)))).toBe(
      'no write grant on s3://out-b/cut/',
    );
  });
});

describe('clearcut gateway', () => {
  const io = (): CliIo & { lines: string[] } => {
    const lines: string[] = [];
    return { env: {}, out: (t) => lines.push(t), err: (t) => lines.push(t), interactive: false, lines };
  };

  it('prints its help', async () => {
    const captured = io();
    expect(await gatewayCommand(['--help'], captured)).toBe(0);
    expect(captured.lines.join('\n')).toContain('Usage: clearcut gateway');
  });

  it('refuses arguments it does not take', async () => {
    await expect(gatewayCommand(['--prefetch', '3'], io())).rejects.toThrow(UsageError);
    await expect(gatewayCommand(['extra'], io())).rejects.toThrow(/Unexpected argument/);
  });
});
