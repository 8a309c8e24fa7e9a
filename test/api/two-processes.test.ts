import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createKey, revokeKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { decodeSigningSecret } from '../../src/signing/index.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { type ServiceProcess, startServiceProcess } from '../support/service-process.js';
import { untilValue } from '../support/until.js';
import {
  accessToken,
  job,
  type SignedCall,
  send,
  signedFetch,
  signedHeaders,
  type TestKey,
} from './harness.js';

// Two real `clearcut api` processes on one database, sharing nothing else: what one admitted, what
// nonce one saw, what token one issued and which key was revoked are known to the other. Their key
// caches live an hour here, so only the database's NOTIFY can tell them of a revocation.

let environment: TestEnvironment;
let db: Database;
const apis: ServiceProcess[] = [];
let first: string;
let second: string;

beforeAll(async () => {
  environment = await createTestEnvironment('two api processes', {
    CLEARCUT_API_PORT: '0',
    CLEARCUT_KEY_CACHE_TTL: '1h',
  });
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
  await addGrant(db, 'acme', { bucket: 'in-acme', prefix: '', access: 'read' });
  await addGrant(db, 'acme', { bucket: 'out-acme', prefix: '', access: 'write' });
  for (const _ of [1, 2])
    apis.push(await startServiceProcess(['workers/api.ts'], environment.env, 'api started'));
  [first, second] = apis.map((api) => `http://127.0.0.1:${api.logLine('api started')!.port as number}`) as [
    string,
    string,
  ];
}, 120_000);

afterAll(async () => {
  for (const api of apis) await api.stop();
  await db?.close();
  await environment?.dispose();
});

async function newKey(): Promise<TestKey> {
  const created = await createKey(db, requireMasterKey(environment.config.gateway.masterKey), {
    tenantId: 'acme',
    algorithm: 'hmac-sha256',
    environment: 'test',
    expiresAt: null,
  });
  return { keyId: created.key.keyId, tenantId: 'acme', secret: decodeSigningSecret(created.shownOnce) };
}

const reasonOf = async (response: Response) => ((await response.json()) as { reason: string }).reason;

describe('two clearcut api processes on one database', () => {
  it('admits one job for concurrent submissions of one Idempotency-Key to both', async () => {
    const key = await newKey();
    const ids = Array.from({ length: 8 }, (_, n) => `twin-${n}`);
    const answers = await Promise.all(
      ids.flatMap((id) =>
        [first, second].map(async (base) => {
          const call = {
            method: 'POST',
            path: '/v1/jobs',
            body: job('acme', [`${id}.jpg`]),
            idempotencyKey: id,
          };
          const response = await signedFetch(base, key, call);
          return { id, status: response.status, body: (await response.json()) as { repeated?: boolean } };
        }),
      ),
    );
    for (const id of ids) {
      const mine = answers.filter((answer) => answer.id === id);
      expect(mine.map((answer) => answer.status)).toEqual([202, 202]);
      expect(mine.filter((answer) => answer.body.repeated === false)).toHaveLength(1);
    }
    const rows = await db.query<{ id: string; tasks: number }>(
      `SELECT j.id, (SELECT count(*)::int FROM tasks t WHERE t.tenant_id = j.tenant_id AND t.job_id = j.id) AS tasks
       FROM jobs j WHERE j.id LIKE 'twin-%' ORDER BY j.id`,
    );
    expect(rows).toEqual(ids.map((id) => ({ id, tasks: 1 })));
  });

  it('refuses at one process a nonce the other has seen, for reads and for submissions', async () => {
    const key = await newKey();
    const read: SignedCall = { path: '/v1/usage' };
    const readHeaders = signedHeaders(key, read);
    expect((await send(first, read, readHeaders)).status).toBe(200);
    const replayedRead = await send(second, read, readHeaders);
    expect(replayedRead.status).toBe(401);
    expect(await reasonOf(replayedRead)).toBe('replayed_nonce');

    const submit: SignedCall = {
      method: 'POST',
      path: '/v1/jobs',
      body: job('acme'),
      idempotencyKey: 'once',
    };
    const submitHeaders = signedHeaders(key, submit);
    expect((await send(second, submit, submitHeaders)).status).toBe(202);
    const replayedSubmit = await send(first, submit, submitHeaders);
    expect(replayedSubmit.status).toBe(401);
    expect(await reasonOf(replayedSubmit)).toBe('replayed_nonce');
  });

  it("accepts one process's token at the other; revoking the key stops it at both", async () => {
    const key = await newKey();
    const token = await accessToken(first, key);
    const withToken = (base: string) =>
      fetch(`${base}/v1/usage`, { headers: { authorization: `Bearer ${token}` } });
    expect((await withToken(second)).status).toBe(200);
    expect((await withToken(first)).status).toBe(200);

    await revokeKey(db, key.keyId);
    // Each process's cached key lives an hour: only the NOTIFY of the revocation can stop the token.
    for (const base of [first, second]) {
      const refused = await untilValue(
        async () => {
          const response = await withToken(base);
          return response.status === 401 ? response : undefined;
        },
        { what: `the revoked key's token refused at ${base}` },
      );
      expect(await reasonOf(refused)).toBe('invalid_token');
    }
  });
});
