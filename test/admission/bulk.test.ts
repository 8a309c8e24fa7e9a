import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import type { Decision } from '../../src/admission/decision.js';
import { nonceLedger } from '../../src/admission/nonces.js';
import type { AdmissionRequest } from '../../src/admission/request.js';
import type { Database, Queryable } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { noLimits, setQuota } from '../../src/policy/quota-settings.js';
import { takeJobToken, takeJobTokens } from '../../src/policy/quotas.js';
import { loadTenantRules } from '../../src/policy/tenant-rules.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';

// The admission core's set-based paths: a batch of many tenants decided with one statement per
// table (rules of all tenants at once, a tenant's job tokens at once), with every refusal the
// one-by-one path gives, and tenant rows locked in one order whatever the batch's order.

let environment: TestEnvironment;
let db: Database;
const catalog = modelCatalog({ defaultModel: 'u2net' });

async function tenantWith(id: string, quota: Parameters<typeof setQuota>[2], grants = true) {
  await createTenant(db, id, 'pro');
  await setQuota(db, id, { ...noLimits, ...quota });
  if (grants) {
    await addGrant(db, id, { bucket: 'in-a', prefix: '', access: 'read' });
    await addGrant(db, id, { bucket: 'out-a', prefix: `${id}/`, access: 'write' });
  }
}

beforeAll(async () => {
  environment = await createTestEnvironment('admission bulk');
  db = createDatabase(environment.config.database);
  await migrate(db);
  await tenantWith('rated', { jobsPerMinute: 60, burst: 2 });
  await tenantWith('small', { imagesPerDay: 3 });
  await tenantWith('ungranted', {}, false);
  await tenantWith('open', { maxItemsPerJob: 2, maxInFlight: 7 });
  for (const id of ['lock-a', 'lock-b']) await tenantWith(id, { jobsPerMinute: 1000, burst: 1000 });
  for (const id of ['twin-1', 'twin-2']) await tenantWith(id, { jobsPerMinute: 6, burst: 5 });
});
afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

let serial = 0;
function request(
  tenantId: string,
  keys: readonly string[],
  {
    jobId = `job-${++serial}`,
    nonce = `nonce-${++serial}`,
    metadata,
  }: { jobId?: string; nonce?: string; metadata?: Record<string, string> } = {},
): AdmissionRequest {
  const job = {
    version: 1,
    input: keys.length === 1 ? { bucket: 'in-a', key: keys[0] } : { bucket: 'in-a', keys },
    output: { bucket: 'out-a', prefix: `${tenantId}/` },
    ...(metadata === undefined ? {} : { metadata }),
  };
  return {
    tenantId,
    jobId,
    keyId: `key-${tenantId}`,
    nonce: { value: nonce, expiresAt: new Date(Date.now() + 300_000) },
    body: { bytes: Buffer.from(JSON.stringify(job)) },
    repeated: false,
    origin: { source: 'job' },
  };
}

const context = () => ({ now: new Date(), catalog, nonces: nonceLedger });
const admit = (requests: readonly AdmissionRequest[]) =>
  db.transaction((tx) => admitBatch(tx, requests, context()));
const outcome = (d: Decision) => (d.outcome === 'rejected' ? d.rejection.reason : d.outcome);

describe('a batch of many tenants', () => {
  it('decides each request as one-by-one admission would, with the refusals of every check', async () => {
    const requests = [
      request('rated', ['r/1.jpg']),
      request('small', ['s/1.jpg', 's/2.jpg']),
      request('ungranted', ['u/1.jpg']),
      request('rated', ['r/2.jpg'], { jobId: 'same-id' }),
      request('open', ['o/1.jpg', 'o/2.jpg', 'o/3.jpg']),
      request('small', ['s/3.jpg', 's/4.jpg']), // 4 images today: more than 3
      request('rated', ['r/3.jpg'], { jobId: 'same-id' }), // the id again, in the same batch
      request('rated', ['r/4.jpg']), // the burst of 2 is spent
      request('open', ['o/4.jpg'], { nonce: 'shared' }),
      request('open', ['o/5.jpg'], { nonce: 'shared' }), // the nonce again, in the same batch
      request('small', ['s/5.jpg']),
    ];
    const decisions = await admit(requests);
    expect(decisions.map(outcome)).toEqual([
      'accepted',
      'accepted',
      'forbidden_location',
      'accepted',
      'too_many_items',
      'quota_exceeded',
      'duplicate',
      'rate_limited',
      'accepted',
      'replayed_nonce',
      'accepted',
    ]);
    const limited = decisions[7]!;
    if (limited.outcome !== 'rejected') throw new Error('expected a refusal');
    expect(limited.rejection.retryAfterSeconds).toBe(1);
    expect(limited.rejection.message).toContain('60 jobs per minute (burst 2)');

    const jobIds = requests.map((r) => r.jobId);
    const audit = await db.query<{ message_id: string; outcome: string; reason: string | null }>(
      'SELECT message_id, outcome, reason FROM audit_log WHERE message_id = ANY($1) ORDER BY id',
      [jobIds],
    );
    expect(audit.map((row) => row.reason ?? row.outcome)).toEqual(decisions.map(outcome));
    const events = await db.query<{ routing_key: string }>(
      `SELECT routing_key FROM outbox WHERE routing_key LIKE ANY($1) ORDER BY id`,
      [jobIds.map((id) => `%.${id}.%`)],
    );
    expect(events).toHaveLength(decisions.length);

    const tasks = await db.query<{ tenant_id: string; n: number }>(
      `SELECT tenant_id, count(*)::int AS n FROM tasks WHERE tenant_id IN ('rated', 'small', 'open')
       GROUP BY tenant_id ORDER BY tenant_id`,
    );
    expect(tasks).toEqual([
      { tenant_id: 'open', n: 1 },
      { tenant_id: 'rated', n: 2 },
      { tenant_id: 'small', n: 3 },
    ]);
    const dispatch = await db.query<{ tenant_id: string; pending: number; max_in_flight: number }>(
      `SELECT tenant_id, pending, max_in_flight FROM tenant_dispatch WHERE tenant_id IN ('rated', 'small', 'open')
       ORDER BY tenant_id`,
    );
    expect(dispatch.map((row) => [row.tenant_id, row.pending])).toEqual([
      ['open', 1],
      ['rated', 2],
      ['small', 3],
    ]);
    expect(dispatch[0]!.max_in_flight).toBe(7);
    // A refused job does not occupy its id: only the admitted one is stored, with its own nonce.
    const [stored] = await db.query<{ nonce: string }>(
      `SELECT nonce FROM jobs WHERE tenant_id = 'rated' AND id = 'same-id'`,
    );
    expect(stored!.nonce).toBe(requests[3]!.nonce!.value);
  });

  it("echoes the job's metadata in its accepted and rejected events, and none when the body could not be read", async () => {
    const metadata = { sku: 'boot-42' };
    const unreadable = { ...request('open', ['o/9.jpg']), body: { bytes: Buffer.from('{not json') } };
    const requests = [
      request('open', ['o/6.jpg'], { metadata }),
      request('ungranted', ['u/2.jpg'], { metadata }),
      unreadable,
    ];
    const decisions = await admit(requests);
    expect(decisions.map(outcome)).toEqual(['accepted', 'forbidden_location', 'invalid_body']);
    const events = await db.query<{ body: string }>(
      `SELECT body FROM outbox WHERE message_id IS NOT NULL AND routing_key LIKE ANY($1) ORDER BY id`,
      [requests.map((r) => `%.${r.jobId}.%`)],
    );
    expect(events.map((row) => (JSON.parse(row.body) as { metadata?: unknown }).metadata)).toEqual([
      metadata,
      metadata,
      undefined,
    ]);
  });

  it('loads the rules of every tenant at once, each with its own grants, none for an unknown tenant', async () => {
    const rules = await loadTenantRules(db, ['open', 'ungranted', 'nobody', 'open']);
    expect([...rules.keys()].sort()).toEqual(['open', 'ungranted']);
    expect(rules.get('open')!.grants).toEqual([
      { bucket: 'in-a', prefix: '', access: 'read' },
      { bucket: 'out-a', prefix: 'open/', access: 'write' },
    ]);
    expect(rules.get('open')!.policy).toMatchObject({ maxItemsPerJob: 2, maxInFlight: 7 });
    expect(rules.get('ungranted')!.grants).toEqual([]);
  });
});

describe('job tokens taken together', () => {
  it('gives what the same number of single takes gives: the same tokens, the same retry-after', async () => {
    const at = new Date('2026-12-01T10:00:00Z');
    const later = (seconds: number) => new Date(at.getTime() + seconds * 1000);
    const oneByOne = async (count: number, now: Date) => {
      const results = [];
      for (let i = 0; i < count; i++) results.push(await takeJobToken(db, 'twin-1', now));
      const refused = results.filter((r) => !r.ok);
      return {
        taken: results.filter((r) => r.ok).length,
        ...(refused.length > 0 ? { retryAfterSeconds: refused[0]!.retryAfterSeconds } : {}),
      };
    };
    // burst 5, 6 per minute (one every 10 s): 7 asked of a full bucket, then 3 after 25 s, then 1 at once.
    for (const [count, now] of [
      [7, at],
      [3, later(25)],
      [1, later(25)],
      [2, later(3600)],
    ] as const) {
      const together = await takeJobTokens(db, 'twin-2', count, now);
      expect(together).toEqual(await oneByOne(count, now));
    }
  });

  it('takes every token asked of a tenant without a job rate, and refuses an unknown tenant', async () => {
    expect(await takeJobTokens(db, 'open', 500, new Date())).toEqual({ taken: 500 });
    await expect(takeJobTokens(db, 'nobody', 2, new Date())).rejects.toThrow(/nobody/);
  });
});

describe('lock order', () => {
  it('commits two batches over the same tenants given in opposite orders, one waiting for the other', async () => {
    const forward = ['lock-a', 'lock-b'].flatMap((t) => [
      request(t, [`${t}/1.jpg`]),
      request(t, [`${t}/2.jpg`]),
    ]);
    const backward = ['lock-b', 'lock-a'].flatMap((t) => [
      request(t, [`${t}/3.jpg`]),
      request(t, [`${t}/4.jpg`]),
    ]);
    // The first batch stops inside its transaction right after it locked its first tenant's rows.
    let reachedGate: () => void = () => {};
    const reached = new Promise<void>((resolve) => {
      reachedGate = resolve;
    });
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let gated = false;
    let firstPid = 0;
    const stopAfterFirstTenantLock = (tx: Queryable): Queryable => ({
      async query(text, values) {
        const rows = await tx.query(text, values);
        if (!gated && text.includes('job_token_buckets')) {
          gated = true;
          const [backend] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          firstPid = backend!.pid;
          reachedGate();
          await gate;
        }
        return rows as never;
      },
    });
    const first = db.transaction((tx) => admitBatch(stopAfterFirstTenantLock(tx), forward, context()));
    await reached;
    const second = db.transaction((tx) => admitBatch(tx, backward, context()));
    // The second batch takes lock-a first too, so it waits for the first instead of locking lock-b.
    await until(
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid)) AND query LIKE '%job_token_buckets%'`,
            [firstPid],
          )
        ).length > 0,
      { what: 'the second batch to wait for the first one’s tenant lock' },
    );
    openGate();
    const [a, b] = await Promise.all([first, second]);
    expect([...a, ...b].map(outcome)).toEqual(Array(8).fill('accepted'));
    const [dispatch] = await db.query<{ n: number }>(
      `SELECT sum(pending)::int AS n FROM tenant_dispatch WHERE tenant_id IN ('lock-a', 'lock-b')`,
    );
    expect(dispatch!.n).toBe(8);
  });
});
