import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { type Gateway, startGateway } from '../../src/gateway/gateway.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { createLogger } from '../../src/log.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { decodeSigningSecret } from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestBroker, type TestBroker } from '../support/broker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { until } from '../support/until.js';
import { job, signedFetch, type TestKey } from './harness.js';

// Two `clearcut api` processes side by side and a gateway, over real PostgreSQL and RabbitMQ: a job
// submitted to one API is read through the other, and the gateway releases its task to the queue.

let environment: TestEnvironment;
let db: Database;
let broker: TestBroker;
let gateway: Gateway;
const apis: ServiceProcess[] = [];
let key: TestKey;

beforeAll(async () => {
  environment = await createTestEnvironment('api processes', {
    CLEARCUT_API_PORT: '0',
    CLEARCUT_GATEWAY_HTTP_PORT: '0',
    CLEARCUT_GATEWAY_EVENTS: 'false',
  });
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
  await addGrant(db, 'acme', { bucket: 'in-acme', prefix: '', access: 'read' });
  await addGrant(db, 'acme', { bucket: 'out-acme', prefix: '', access: 'write' });
  const created = await createKey(db, requireMasterKey(environment.config.gateway.masterKey), {
    tenantId: 'acme',
    algorithm: 'ed25519',
    environment: 'test',
    expiresAt: null,
  });
  key = { keyId: created.key.keyId, tenantId: 'acme', secret: decodeSigningSecret(created.shownOnce) };
  broker = await createTestBroker(environment.amqpPrefix);
  gateway = await startGateway(environment.config, { log: createLogger('silent') });
  // the second with a misspelt variable, as an env file might hold it
  for (const typo of [{}, { CLEARCUT_API_PORTT: '8080' }])
    apis.push(await startServiceProcess(['workers/api.ts'], { ...environment.env, ...typo }, 'api started'));
}, 120_000);

afterAll(async () => {
  for (const api of apis) await api.stop();
  await gateway?.stop();
  await broker?.dispose();
  await db?.close();
  await environment?.dispose();
});

const baseOf = (api: ServiceProcess) => `http://127.0.0.1:${api.logLine('api started')!.port as number}`;

describe('clearcut api as processes', () => {
  it('admits through one process, answers through the other, and the gateway releases the task', async () => {
    const [first, second] = apis.map(baseOf) as [string, string];
    const submitted = await signedFetch(first, key, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('acme', ['boot.jpg']),
      idempotencyKey: 'two-doors',
    });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    const retried = await signedFetch(second, key, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('acme', ['boot.jpg']),
      idempotencyKey: 'two-doors',
    });
    expect(await retried.json()).toMatchObject({ jobId: 'two-doors', repeated: true });
    const status = await signedFetch(second, key, { path: '/v1/jobs/two-doors' });
    expect(await status.json()).toMatchObject({ jobId: 'two-doors', total: 1 });
    // The unlimited tier's tasks go to the priority lane.
    await until(async () => (await broker.depth(broker.names.priorityTasksQueue)) === 1, {
      timeoutMs: 20_000,
      what: 'the task in the priority tasks queue',
    });
    // The dispatcher marks the row after the broker confirmed the message: poll, do not read once.
    await until(
      async () => {
        const [task] = await db.query<{ published: boolean }>(
          `SELECT published_at IS NOT NULL AS published FROM tasks WHERE job_id = 'two-doors'`,
        );
        return task?.published === true;
      },
      { timeoutMs: 20_000, what: 'the task row marked published' },
    );
  });

  it('warns in its start-up log of a CLEARCUT_* variable that configures nothing, naming the real one', () => {
    const warning =
      'CLEARCUT_API_PORTT is not a ClearCut variable and is ignored; did you mean CLEARCUT_API_PORT?';
    expect(apis[1]!.logLine(warning)).toMatchObject({ level: 40, role: 'api' });
    expect(apis[0]!.logLine(warning)).toBeUndefined();
  });

  it('drains on SIGTERM and exits 0', async () => {
    const api = apis.pop()!;
    expect(await api.stop()).toBe(0);
    expect(api.output()).toContain('"msg":"api stopped"');
  });
});
