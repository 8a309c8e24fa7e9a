import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import type { AdmissionRequest } from '../../src/admission/request.js';
import { listAudit } from '../../src/audit/audit.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { type JobForTasks, jobsForTasks } from '../../src/jobs/task-queue.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// The admission core against the real database, called as a door would: the same job, as raw
// bytes (signed-job door) or as a built value (S3 event door), gets the same decision and message.

let environment: TestEnvironment;
let db: Database;
const catalog = modelCatalog({ defaultModel: 'u2net' });
const tenant = 'acme';

beforeAll(async () => {
  environment = await createTestEnvironment('admission core');
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, tenant, 'unlimited');
  await addGrant(db, tenant, { bucket: 'in-a', prefix: '', access: 'read' });
  await addGrant(db, tenant, { bucket: 'out-a', prefix: '', access: 'write' });
});
afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

let jobs = 0;
function request(body: AdmissionRequest['body'], source: 'job' | 'event'): AdmissionRequest {
  return {
    tenantId: tenant,
    jobId: `job-${++jobs}`,
    keyId: null,
    nonce: null,
    body,
    repeated: false,
    origin: source === 'event' ? { source, context: 's3://in-a/x.jpg by trigger 7' } : { source },
  };
}
const both = (job: object): [AdmissionRequest, AdmissionRequest] => [
  request({ bytes: Buffer.from(JSON.stringify(job)) }, 'job'),
  request({ value: job }, 'event'),
];
const admit = (requests: readonly AdmissionRequest[]) =>
  db.transaction((tx) => admitBatch(tx, requests, { now: new Date(), catalog }));

describe('admission core', () => {
  it('gives a body with twelve problems the same invalid_body, suffix included, at either door', async () => {
    const keys = Array.from({ length: 12 }, (_, n) => `../bad-${n}.jpg`);
    const job = { version: 1, input: { bucket: 'in-a', keys }, output: { bucket: 'out-a', prefix: '' } };
    const [fromBytes, fromValue] = await admit(both(job));
    expect(fromBytes).toEqual(fromValue);
    if (fromBytes?.outcome !== 'rejected') throw new Error(JSON.stringify(fromBytes));
    expect(fromBytes.rejection.reason).toBe('invalid_body');
    expect(fromBytes.rejection.message).toMatch(/; and 2 more problems$/);
    expect(fromBytes.rejection.problems).toHaveLength(12);
  });

  it('stores a rejection quoting a NUL byte of the body, escaped, instead of failing the batch', async () => {
    const [decision] = await admit([request({ bytes: Buffer.from('{"version":\u0000}') }, 'job')]);
    expect(decision).toMatchObject({ outcome: 'rejected', rejection: { reason: 'invalid_body' } });
    const [row] = await db.query<{ detail: string }>(
      `SELECT detail FROM audit_log WHERE reason = 'invalid_body' ORDER BY id DESC LIMIT 1`,
    );
    expect(row!.detail).toContain('\\u0000');
    expect(row!.detail).toContain('shown as \\uXXXX escapes');
  });

  it('admits the same job at either door, with the default model, audited under the door it came from', async () => {
    const job = {
      version: 1,
      input: { bucket: 'in-a', key: 'x.jpg' },
      output: { bucket: 'out-a', prefix: '' },
    };
    const requests = both(job);
    const decisions = await admit(requests);
    expect(decisions).toEqual(
      requests.map((r) => ({
        outcome: 'accepted',
        job: { tenantId: tenant, jobId: r.jobId, keyId: null, items: 1, lane: 'priority', model: 'u2net' },
      })),
    );
    const audit = (await listAudit(db, { tenantId: tenant })).filter((row) => row.outcome === 'accepted');
    expect(audit.map((row) => [row.source, row.messageId, row.detail])).toEqual([
      ['job', requests[0].jobId, '1 items'],
      ['event', requests[1].jobId, 's3://in-a/x.jpg by trigger 7: 1 items'],
    ]);
  });

  it('acknowledges a repeat of an admitted request quietly, and refuses another origin as duplicate', async () => {
    const job = {
      version: 1,
      input: { bucket: 'in-a', key: 'y.jpg' },
      output: { bucket: 'out-a', prefix: '' },
    };
    const first = request({ value: job }, 'event');
    await admit([first]);
    const [repeat, other] = await admit([
      { ...first, repeated: true },
      { ...first, keyId: 'ck_test_someone', jobId: first.jobId },
    ]);
    expect(repeat).toEqual({ outcome: 'redelivered' });
    expect(other).toMatchObject({ outcome: 'rejected', rejection: { reason: 'duplicate' } });
  });
  it('tells its caller the jobs it admitted exactly as the dispatcher reads them back', async () => {
    const job = {
      version: 1,
      input: { bucket: 'in-a', key: 'z.jpg' },
      output: { bucket: 'out-a', prefix: 'o/' },
    };
    const [bytes, value] = both({ ...job, metadata: { sku: 7 } });
    const again = { ...request({ value: job }, 'event'), jobId: bytes.jobId };
    const invalid = request({ bytes: Buffer.from('{') }, 'job');
    let heard: readonly JobForTasks[] = [];
    const decisions = await db.transaction((tx) =>
      admitBatch(tx, [bytes, value, again, invalid], {
        now: new Date(),
        catalog,
        onAdmitted: (jobs) => {
          heard = jobs;
        },
      }),
    );
    expect(decisions.map((d) => d.outcome)).toEqual(['accepted', 'accepted', 'rejected', 'rejected']);
    expect(heard.map((j) => j.jobId)).toEqual([bytes.jobId, value.jobId]);
    expect(heard).toEqual(await jobsForTasks(db, heard));
    expect(heard[0]).toMatchObject({
      keyId: null,
      model: 'u2net',
      lane: 'priority',
      spec: { model: 'u2net' },
    });
  });
});
