import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../src/worker/worker.js';
import { runInterruptedJob } from '../e2e/interrupted-job.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import { untilValue } from '../support/until.js';
import { restartPostgres, restartRabbitMq } from './services.js';

// The real RabbitMQ and PostgreSQL of this machine restarted under a running gateway and worker,
// in the middle of a job: the job still ends with exactly one output set per image.

// On a developer's machine, CLEARCUT_TEST_RESTARTS=0 leaves its services alone (CI runs them).
describe.skipIf(process.env.CLEARCUT_TEST_RESTARTS === '0')('restarts', () => {
  let p: PipelineHarness;
  let worker: Worker;

  beforeAll(async () => {
    p = await createPipelineHarness('restarts', {
      CLEARCUT_AMQP_RECONNECT_DELAY: '200ms',
      CLEARCUT_AMQP_RECONNECT_MAX_DELAY: '2s',
      // A database outage costs the tasks that meet it an attempt each: leave room for a restart.
      CLEARCUT_MAX_ATTEMPTS: '6',
      CLEARCUT_RETRY_DELAYS: '500ms,1s,2s,4s,8s',
    });
    worker = await p.startWorker();
  }, 120_000);
  afterAll(async () => {
    await p?.dispose();
  });

  const brokerReady = async () => {
    const response = await fetch(`http://127.0.0.1:${worker.httpPort}/readyz`);
    return ((await response.json()) as { checks: { broker: boolean } }).checks.broker;
  };

  it('survives a PostgreSQL restart mid-job', async () => {
    await runInterruptedJob(p, 'postgres', async (progress) => {
      await progress.succeeded(3);
      expect(await progress.unfinished()).toBeGreaterThan(0);
      await restartPostgres();
    });
    expect(await brokerReady()).toBe(true);
  }, 300_000);

  // Last: the test's own result-event collector (a temporary queue) does not survive it.
  it('survives a RabbitMQ restart mid-job', async () => {
    await runInterruptedJob(
      p,
      'rabbit',
      async (progress) => {
        await progress.succeeded(3);
        expect(await progress.unfinished()).toBeGreaterThan(0);
        let sawDown = false;
        const watching = (async () => {
          while (!sawDown) {
            sawDown = !(await brokerReady());
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })();
        await restartRabbitMq(2000);
        await untilValue(async () => sawDown, {
          what: 'the worker to report the broker down',
          timeoutMs: 60_000,
        });
        await watching;
        await untilValue(brokerReady, { what: 'the worker to report the broker back', timeoutMs: 60_000 });
      },
      { events: false },
    );
  }, 300_000);
});
