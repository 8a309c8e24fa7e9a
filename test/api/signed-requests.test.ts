import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admitBatch } from '../../src/admission/admit.js';
import { nonceLedger } from '../../src/admission/nonces.js';
import { listAudit } from '../../src/audit/audit.js';
import { revokeKey, rotateKey } from '../../src/keys/key-admin.js';
import { modelCatalog } from '../../src/models/catalog.js';
import { until } from '../support/until.js';
import {
  type ApiHarness,
  job,
  send,
  signedFetch,
  signedHeaders,
  startApiHarness,
  type TestKey,
} from './harness.js';

// Signed requests end to end: a real API server, real PostgreSQL, plain fetch.

let h: ApiHarness;
let hmac: TestKey;
let ed25519: TestKey;
let jobs = 0;
const nextId = () => `signed-${++jobs}`;

beforeAll(async () => {
  h = await startApiHarness('api signed');
  await h.tenant('acme');
  hmac = await h.key('acme');
  ed25519 = await h.key('acme', 'ed25519');
});
afterAll(async () => h?.close());

const problemOf = async (response: Response) => {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  return (await response.json()) as { reason: string; status: number; detail: string; problems?: string[] };
};

describe('signed HTTP requests', () => {
  it('admits a job signed with either algorithm; its tasks and an api audit row are in the database', async () => {
    for (const key of [hmac, ed25519]) {
      const id = nextId();
      const response = await signedFetch(h.base, key, {
        method: 'POST',
        path: '/v1/jobs',
        body: job('acme', ['a.jpg', 'b.jpg']),
        idempotencyKey: id,
      });
      expect(response.status).toBe(202);
      expect(response.headers.get('location')).toBe(`/v1/jobs/${id}`);
      expect(await response.json()).toMatchObject({ jobId: id, items: 2, repeated: false });
      const tasks = await h.db.query<{ source_key: string }>(
        `SELECT source_key FROM tasks WHERE tenant_id = 'acme' AND job_id = $1 ORDER BY item`,
        [id],
      );
      expect(tasks.map((t) => t.source_key)).toEqual(['a.jpg', 'b.jpg']);
      const audit = await listAudit(h.db, { tenantId: 'acme', limit: 50 });
      expect(audit.find((row) => row.messageId === id)).toMatchObject({ source: 'api', outcome: 'accepted' });
    }
  });

  it('refuses the same signed request sent twice (replayed_nonce), for a job and for a read', async () => {
    const id = nextId();
    const call = { method: 'POST', path: '/v1/jobs', body: job('acme'), idempotencyKey: id };
    const headers = signedHeaders(hmac, call);
    expect((await send(h.base, call, headers)).status).toBe(202);
    const again = await send(h.base, call, headers);
    expect(again.status).toBe(401);
    expect((await problemOf(again)).reason).toBe('replayed_nonce');
    const audit = await listAudit(h.db, { tenantId: 'acme', limit: 50 });
    const reasons = audit
      .filter((row) => row.messageId === id)
      .map((row) => `${row.source} ${row.reason ?? row.outcome}`);
    expect(reasons.sort()).toEqual(['api accepted', 'api replayed_nonce']);

    const read = { path: `/v1/jobs/${id}` };
    const readHeaders = signedHeaders(hmac, read);
    expect((await send(h.base, read, readHeaders)).status).toBe(200);
    expect((await problemOf(await send(h.base, read, readHeaders))).reason).toBe('replayed_nonce');
  });

  it('a signature for one request does not authorise another (path, query, body, method, Idempotency-Key)', async () => {
    const id = nextId();
    const signedFor = { method: 'POST', path: '/v1/jobs', body: job('acme'), idempotencyKey: id };
    const headers = signedHeaders(hmac, signedFor);
    const variants = [
      { ...signedFor, body: job('acme', ['other.jpg']) },
      { ...signedFor, path: '/v1/jobs?x=1' },
      { ...signedFor, idempotencyKey: `${id}-b` },
    ];
    for (const variant of variants) {
      const response = await send(h.base, variant, {
        ...headers,
        'idempotency-key': variant.idempotencyKey,
      });
      expect((await problemOf(response)).reason).toBe('bad_signature');
    }
    const listing = signedHeaders(hmac, { path: '/v1/jobs?state=running' });
    const other = await send(h.base, { path: '/v1/jobs?state=completed' }, listing);
    expect((await problemOf(other)).reason).toBe('bad_signature');
    expect(await h.db.query(`SELECT 1 FROM jobs WHERE id LIKE $1`, [`${id}%`])).toHaveLength(0);
  });

  it('answers a retry (new signature, same Idempotency-Key and body) with the same job, another body with 409', async () => {
    const id = nextId();
    const call = { method: 'POST', path: '/v1/jobs', body: job('acme'), idempotencyKey: id };
    expect((await signedFetch(h.base, hmac, call)).status).toBe(202);
    const retry = await signedFetch(h.base, hmac, call);
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ jobId: id, repeated: true });
    const changed = await signedFetch(h.base, hmac, { ...call, body: job('acme', ['z.jpg']) });
    expect(changed.status).toBe(409);
    expect((await problemOf(changed)).reason).toBe('duplicate');
    const [row] = await h.db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM tasks WHERE tenant_id = 'acme' AND job_id = $1`,
      [id],
    );
    expect(row!.n).toBe('1');
  });

  it("answers 409 for a job id the tenant used at another door, with the core's words", async () => {
    const id = nextId();
    await h.db.transaction((tx) =>
      admitBatch(
        tx,
        [
          {
            tenantId: 'acme',
            jobId: id,
            keyId: hmac.keyId,
            nonce: { value: 'amqp-door-nonce-00000000', expiresAt: new Date(Date.now() + 60_000) },
            body: { bytes: Buffer.from(job('acme')) },
            repeated: false,
            origin: { source: 'job' },
          },
        ],
        { now: new Date(), catalog: modelCatalog({ defaultModel: 'u2net' }), nonces: nonceLedger },
      ),
    );
    const response = await signedFetch(h.base, hmac, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('acme'),
      idempotencyKey: id,
    });
    expect(response.status).toBe(409);
    expect((await problemOf(response)).detail).toBe(`tenant acme already submitted job ${id}`);
  });

  it('maps the AMQP reason codes to HTTP statuses, as problem+json', async () => {
    const post = (body: string, extra: { contentType?: string } = {}) => ({
      method: 'POST',
      path: '/v1/jobs',
      body,
      idempotencyKey: nextId(),
      ...extra,
    });
    const invalid = await signedFetch(h.base, hmac, post('{"version":1}'));
    expect(invalid.status).toBe(422);
    const invalidProblem = await problemOf(invalid);
    expect(invalidProblem.reason).toBe('invalid_body');
    expect(invalidProblem.problems!.length).toBeGreaterThan(0);

    const forbidden = await signedFetch(
      h.base,
      hmac,
      post(
        JSON.stringify({
          version: 1,
          input: { bucket: 'in-other', key: 'a.jpg' },
          output: { bucket: 'out-acme', prefix: '' },
        }),
      ),
    );
    expect(forbidden.status).toBe(403);
    expect((await problemOf(forbidden)).reason).toBe('forbidden_location');

    const model = await signedFetch(
      h.base,
      hmac,
      post(JSON.stringify({ ...JSON.parse(job('acme')), model: 'nope' })),
    );
    expect(model.status).toBe(422);
    expect((await problemOf(model)).reason).toBe('unknown_model');

    const tooLarge = await signedFetch(h.base, hmac, post(job('acme', ['x'.repeat(300 * 1024)])));
    expect(tooLarge.status).toBe(413);
    expect((await problemOf(tooLarge)).reason).toBe('body_too_large');

    const text = await signedFetch(h.base, hmac, post(job('acme'), { contentType: 'text/plain' }));
    expect(text.status).toBe(415);

    const staleCall = { ...post(job('acme')), timestamp: Math.floor(Date.now() / 1000) - 3600 };
    const stale = await signedFetch(h.base, hmac, staleCall);
    expect(stale.status).toBe(401);
    expect((await problemOf(stale)).reason).toBe('stale_timestamp');
    // Signed by the tenant's key: audited and announced under the tenant and the job id, as at the AMQP door.
    const audit = await listAudit(h.db, { tenantId: 'acme', limit: 5 });
    expect(audit.find((row) => row.messageId === staleCall.idempotencyKey)).toMatchObject({
      source: 'api',
      reason: 'stale_timestamp',
    });

    const unknown = await signedFetch(
      h.base,
      { ...hmac, keyId: 'ck_test_AAAAAAAAAAAAAAAAAAAAAAAA' },
      post(job('acme')),
    );
    expect((await problemOf(unknown)).reason).toBe('unknown_key');

    const anonymous = await fetch(`${h.base}/v1/usage`);
    expect(anonymous.status).toBe(401);
    expect((await problemOf(anonymous)).reason).toBe('missing_header');
  });

  it('answers 429 rate_limited with Retry-After once the job bucket is empty, with RateLimit headers', async () => {
    await h.tenant('slow');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('slow', '{"jobs_per_minute": 1, "burst": 1}')`,
    );
    const key = await h.key('slow');
    const first = await signedFetch(h.base, key, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('slow'),
      idempotencyKey: 'r1',
    });
    expect(first.status).toBe(202);
    const second = await signedFetch(h.base, key, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('slow'),
      idempotencyKey: 'r2',
    });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await problemOf(second)).reason).toBe('rate_limited');
    expect(second.headers.get('ratelimit-policy')).toBe('"jobs";q=1;w=60');
    expect(second.headers.get('ratelimit')).toMatch(/^"jobs";r=0;t=\d+/);
  });

  it('refuses a revoked or expired key (401), too many items (422) and an exhausted image quota (429)', async () => {
    await h.tenant('small');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('small', '{"images_per_day": 1, "max_items_per_job": 2}')`,
    );
    const key = await h.key('small');
    const post = (id: string, keys: string[]) => ({
      method: 'POST',
      path: '/v1/jobs',
      body: job('small', keys),
      idempotencyKey: id,
    });
    const many = await signedFetch(h.base, key, post('small-1', ['a.jpg', 'b.jpg', 'c.jpg']));
    expect(many.status).toBe(422);
    expect((await problemOf(many)).reason).toBe('too_many_items');
    const quota = await signedFetch(h.base, key, post('small-2', ['a.jpg', 'b.jpg']));
    expect(quota.status).toBe(429);
    expect((await problemOf(quota)).reason).toBe('quota_exceeded');

    const rotated = await h.key('small');
    await rotateKey(h.db, h.masterKey, rotated.keyId, { graceMs: 0, expiresAt: null });
    await until(async () => (await signedFetch(h.base, rotated, { path: '/v1/usage' })).status === 401, {
      timeoutMs: 2000,
      what: 'the rotated key refused',
    });
    expect((await problemOf(await signedFetch(h.base, rotated, { path: '/v1/usage' }))).reason).toBe(
      'expired_key',
    );
    await revokeKey(h.db, key.keyId);
    await until(async () => (await signedFetch(h.base, key, { path: '/v1/usage' })).status === 401, {
      timeoutMs: 2000,
      what: 'the revoked key refused',
    });
    expect((await problemOf(await signedFetch(h.base, key, { path: '/v1/usage' }))).reason).toBe(
      'revoked_key',
    );
  });

  it("a tenant never sees another tenant's job: 404, as for no job at all", async () => {
    await h.tenant('rival');
    const rival = await h.key('rival');
    const id = nextId();
    expect(
      (
        await signedFetch(h.base, hmac, {
          method: 'POST',
          path: '/v1/jobs',
          body: job('acme'),
          idempotencyKey: id,
        })
      ).status,
    ).toBe(202);
    for (const path of [`/v1/jobs/${id}`, `/v1/jobs/${id}/items`]) {
      const response = await signedFetch(h.base, rival, { path });
      expect(response.status).toBe(404);
      expect((await problemOf(response)).reason).toBe('not_found');
    }
    const listed = await signedFetch(h.base, rival, { path: '/v1/jobs' });
    expect(await listed.json()).toEqual({ jobs: [], nextCursor: null });
  });
});
