import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { taskSchema } from '../../src/contracts/task.js';
import { addTrigger } from '../../src/triggers/trigger-store.js';
import { createGatewayHarness, type GatewayHarness } from '../gateway/harness.js';
import { minioEvent } from './event-messages.js';

// `npm run gateway` (workers/gateway.ts) runs the event consumer beside the gateway by default:
// an S3 event published to the events exchange comes out as a task, with no other process running.

const root = fileURLToPath(new URL('../../', import.meta.url));
let h: GatewayHarness;
let child: ChildProcess | undefined;

beforeAll(async () => {
  h = await createGatewayHarness('events gateway process');
  const tenant = await h.tenant();
  await h.grant(tenant, 'photos-in', '', 'read');
  await h.grant(tenant, 'photos-out', '', 'write');
  await addTrigger(h.db, {
    tenantId: tenant,
    bucket: 'photos-in',
    prefix: '',
    suffixes: [],
    output: { bucket: 'photos-out', prefix: '' },
  });
});
afterAll(async () => {
  if (child?.exitCode === null) child.kill('SIGKILL');
  await h?.dispose();
});

async function startGatewayProcess(
  env: Environment = {},
): Promise<{ process: ChildProcess; output: () => string }> {
  const started = spawn(process.execPath, ['--import', 'tsx', 'workers/gateway.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...h.environment.env,
      CLEARCUT_DISPATCH_INTERVAL: '50ms',
      CLEARCUT_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    started.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('gateway started')) resolve();
    });
    started.on('exit', (code) =>
      reject(new Error(`gateway exited with ${code} before starting:\n${output}`)),
    );
  });
  return { process: started, output: () => output };
}

async function stop(started: ChildProcess): Promise<number | null> {
  const exited = once(started, 'exit');
  started.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

it('consumes S3 events inside the gateway process and drains on SIGTERM', async () => {
  const gateway = await startGatewayProcess();
  child = gateway.process;
  expect(gateway.output()).toContain('S3 event consumer started');
  const publisher = await h.broker.bus.publisher();
  await publisher.publish([
    {
      exchange: h.broker.names.eventsExchange,
      routingKey: 'bucketevents',
      body: Buffer.from(JSON.stringify(minioEvent({ bucket: 'photos-in', key: 'a b/c.jpg', eTag: 'e1' }))),
    },
  ]);
  await publisher.close();
  const deadline = Date.now() + 20_000;
  while ((await h.broker.depth(h.broker.names.tasksQueue)) < 1 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [message] = await h.broker.drain(h.broker.names.tasksQueue);
  expect(taskSchema.parse(message!.json()).source).toEqual({ bucket: 'photos-in', key: 'a b/c.jpg' });
  expect(await stop(child)).toBe(0);
  expect(await h.broker.depth(h.broker.names.eventsQueue)).toBe(0);
});

it('leaves the events queue alone with CLEARCUT_GATEWAY_EVENTS=false', async () => {
  const gateway = await startGatewayProcess({ CLEARCUT_GATEWAY_EVENTS: 'false' });
  child = gateway.process;
  // runGatewayUntilSignal installs its SIGTERM handler just after "gateway started" is logged.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await stop(child)).toBe(0);
  expect(gateway.output()).not.toContain('S3 event consumer');
});
