import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/api/service.js';
import {
  ApiError,
  ApiUnreachableError,
  createHttpClient,
  type HttpClientOptions,
  InvalidJobError,
  type JobRequest,
} from '../../src/client/index.js';
import { revokeKey } from '../../src/keys/key-admin.js';
import { createLogger } from '../../src/log.js';
import { type ApiHarness, startApiHarness, type TestKey } from '../api/harness.js';
import { until, untilValue } from '../support/until.js';
import { startFaultyFront } from './http-faulty-front.js';

// The HTTP transport of clearcut/client against a real API server (PostgreSQL behind it): what it
// answers, how it refuses, and what it does about 429s, lost answers, 5xx and keys it may not use.

let h: ApiHarness;
let key: TestKey;

beforeAll(async () => {
  h = await startApiHarness('http client');
  await h.tenant('acme');
  key = await h.key('acme');
}, 60_000);
afterAll(() => h?.close());

const job = (tenant: string, keys: string[] = ['a.jpg']): JobRequest => ({
  input: { bucket: `in-${tenant}`, keys },
  output: { bucket: `out-${tenant}`, prefix: 'o/' },
});
const client = (k: TestKey, extra: Partial<HttpClientOptions> = {}) =>
  createHttpClient({ url: h.base, keyId: k.keyId, secret: k.secret, ...extra });
const count = async (sql: string, values: unknown[] = []) =>
  Number((await h.db.query<{ n: string }>(sql, values))[0]!.n);
const refusalsOf = (keyId: string, reason: string) =>
  count(`SELECT count(*)::text AS n FROM audit_log WHERE key_id = $1 AND reason = $2`, [keyId, reason]);

describe('createHttpClient', () => {
  for (const auth of ['signed', 'oauth'] as const) {
    it(`submits (${auth}), and reads the job, its items page by page, and the usage`, async () => {
      const sdk = client(key, { auth });
      const submitted = await sdk.submit(job('acme', ['a.jpg', 'b.jpg', 'c.jpg']), {
        jobId: `three-${auth}`,
      });
      expect(submitted).toEqual({
        jobId: `three-${auth}`,
        status: 'accepted',
        statusUrl: `${h.base}/v1/jobs/three-${auth}`,
        repeated: false,
        items: 3,
        model: 'u2net',
      });
      // Admitted means durable: the tasks are rows when submit resolves.
      expect(await count(`SELECT count(*)::text AS n FROM tasks WHERE job_id = $1`, [`three-${auth}`])).toBe(
        3,
      );
      expect(await sdk.status(`three-${auth}`)).toMatchObject({
        jobId: `three-${auth}`,
        total: 3,
        itemsUrl: `/v1/jobs/three-${auth}/items`,
      });
      const pages = [];
      for await (const page of sdk.items(`three-${auth}`, { limit: 2 })) pages.push(page);
      expect(pages.map((page) => page.items.map((item) => item.source))).toEqual([
        ['s3://in-acme/a.jpg', 's3://in-acme/b.jpg'],
        ['s3://in-acme/c.jpg'],
      ]);
      expect(pages[1]!.nextCursor).toBeNull();
      const resumed = [];
      for await (const page of sdk.items(`three-${auth}`, { limit: 2, cursor: pages[0]!.nextCursor! }))
        resumed.push(...page.items.map((item) => item.item));
      expect(resumed).toEqual([2]);
      const failed = [];
      for await (const page of sdk.items(`three-${auth}`, { status: 'failed' })) failed.push(...page.items);
      expect(failed).toEqual([]);
      expect(await sdk.usage()).toMatchObject({ tenant: 'acme', jobs: null });
    });
  }

  it('asks for one token and uses it for every call (oauth)', async () => {
    const own = await h.key('acme');
    const sdk = client(own, { auth: 'oauth' });
    await Promise.all([sdk.usage(), sdk.usage(), sdk.status('nothing').catch(() => undefined)]);
    await sdk.submit(job('acme'));
    expect(
      await count(
        `SELECT count(*)::text AS n FROM audit_log WHERE key_id = $1 AND outcome = 'token.issued'`,
        [own.keyId],
      ),
    ).toBe(1);
  });

  it('refuses an invalid job before sending it, and throws the reason codes of refusals', async () => {
    const sdk = client(key);
    const invalid = await sdk
      .submit({ input: { bucket: 'in-acme' }, output: { bucket: 'out-acme', prefix: '' } } as JobRequest)
      .catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(InvalidJobError);
    await expect(sdk.submit(job('acme'), { jobId: 'bad id' })).rejects.toBeInstanceOf(InvalidJobError);

    const forbidden = await sdk.submit(job('globex')).catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(ApiError);
    expect(forbidden).toMatchObject({
      status: 403,
      reason: 'forbidden_location',
      code: 'forbidden_location',
    });

    await sdk.submit(job('acme', ['x.jpg']), { jobId: 'twice' });
    await expect(sdk.submit(job('acme', ['y.jpg']), { jobId: 'twice' })).rejects.toMatchObject({
      status: 409,
      reason: 'duplicate',
    });
    const again = await sdk.submit(job('acme', ['x.jpg']), { jobId: 'twice' });
    expect(again.repeated).toBe(true);

    await expect(sdk.status('no-such-job')).rejects.toMatchObject({ status: 404, reason: 'not_found' });
    const unknownModel = await sdk
      .submit({ ...job('acme'), model: 'nonexistent' })
      .catch((error: unknown) => error as ApiError);
    expect(unknownModel).toMatchObject({ status: 422, reason: 'unknown_model' });
  });

  it('stops at a revoked key: signed requests get revoked_key, token requests invalid_client', async () => {
    const doomed = await h.key('acme');
    const signed = client(doomed);
    const oauth = client(doomed, { auth: 'oauth', scopes: ['usage:read'] });
    await signed.usage();
    await oauth.usage();
    await revokeKey(h.db, doomed.keyId);
    // The API hears of the revocation by NOTIFY: poll until it has.
    const refusal = await untilValue(
      () =>
        signed.usage().then(
          () => false,
          (error: unknown) => error,
        ),
      {
        what: 'the revoked key refused',
      },
    );
    expect(refusal).toMatchObject({ status: 401, reason: 'revoked_key' });
    // The token held is refused as invalid_token; the client asks for a new one once, which the
    // token endpoint refuses for the revoked key.
    await expect(oauth.usage()).rejects.toMatchObject({ status: 401, reason: 'invalid_client' });
    await expect(oauth.submit(job('acme'))).rejects.toMatchObject({ reason: 'invalid_client' });
  });

  it('waits out a short Retry-After on 429 and submits; throws one longer than it may wait', async () => {
    await h.tenant('quick');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('quick', '{"jobs_per_minute": 60, "burst": 1}')`,
    );
    const quick = await h.key('quick');
    const sdk = client(quick);
    await sdk.submit(job('quick'), { jobId: 'q1' });
    // The bucket is empty: q2 is refused with Retry-After 1, waited out, and admitted.
    const second = await sdk.submit(job('quick'), { jobId: 'q2' });
    expect(second).toMatchObject({ jobId: 'q2', repeated: false });
    expect(await refusalsOf(quick.keyId, 'rate_limited')).toBeGreaterThanOrEqual(1);

    await h.tenant('slow');
    await h.db.query(
      `INSERT INTO quota_overrides (tenant_id, limits) VALUES ('slow', '{"jobs_per_minute": 1, "burst": 1}')`,
    );
    const slow = await h.key('slow');
    const patient = client(slow, { retry: { maxRetryAfterSeconds: 10 } });
    await patient.submit(job('slow'));
    const refused = (await patient.submit(job('slow')).catch((error: unknown) => error)) as ApiError;
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 429, reason: 'rate_limited' });
    expect(refused.retryAfterSeconds).toBeGreaterThan(10);
    expect(await refusalsOf(slow.keyId, 'rate_limited')).toBe(1);
  });

  it('submits again with the same Idempotency-Key when an answer is lost or a 5xx comes back', async () => {
    const front = await startFaultyFront(h.base);
    try {
      const sdk = createHttpClient({
        url: front.base,
        keyId: key.keyId,
        secret: key.secret,
        retry: { backoff: { initialMs: 10, maxMs: 50 } },
      });
      front.fail('lose-answer');
      const lost = await sdk.submit(job('acme', ['lost.jpg']), { jobId: 'lost-answer' });
      // The first attempt was admitted; the retry found it: one job, answered as a repeat.
      expect(lost).toMatchObject({
        jobId: 'lost-answer',
        repeated: true,
        statusUrl: `${front.base}/v1/jobs/lost-answer`,
      });
      expect(front.seen).toEqual(['POST /v1/jobs', 'POST /v1/jobs']);
      expect(await count(`SELECT count(*)::text AS n FROM jobs WHERE id = 'lost-answer'`)).toBe(1);
      expect(await count(`SELECT count(*)::text AS n FROM tasks WHERE job_id = 'lost-answer'`)).toBe(1);

      front.fail('unavailable', 'unavailable');
      expect(await sdk.submit(job('acme'), { jobId: 'after-503' })).toMatchObject({ repeated: false });
      expect(front.seen.slice(2)).toEqual(['POST /v1/jobs', 'POST /v1/jobs', 'POST /v1/jobs']);

      front.fail('unavailable', 'unavailable');
      const giveUp = createHttpClient({
        url: front.base,
        keyId: key.keyId,
        secret: key.secret,
        retry: { attempts: 2, backoff: { initialMs: 10, maxMs: 50 } },
      });
      await expect(giveUp.status('after-503')).rejects.toMatchObject({ status: 503, reason: 'http_503' });

      // A 5xx without Retry-After keeps its backoff whatever the longest Retry-After allowed.
      front.fail('unavailable');
      const impatient = createHttpClient({
        url: front.base,
        keyId: key.keyId,
        secret: key.secret,
        retry: { maxRetryAfterSeconds: 0, backoff: { initialMs: 10, maxMs: 50 } },
      });
      expect(await impatient.status('after-503')).toMatchObject({ jobId: 'after-503' });

      // A 503's Retry-After is waited out when it is short, and thrown at once when it is longer.
      front.fail('unavailable-1s');
      const started = Date.now();
      await sdk.status('after-503');
      expect(Date.now() - started).toBeGreaterThanOrEqual(950); // not the 10–50 ms backoff
      const seen = front.seen.length;
      front.fail('unavailable-60s');
      await expect(sdk.status('after-503')).rejects.toMatchObject({ status: 503, retryAfterSeconds: 60 });
      expect(front.seen.length).toBe(seen + 1);
    } finally {
      await front.close();
    }
  });

  it('says the API is unreachable after its attempts', async () => {
    const front = await startFaultyFront(h.base);
    await front.close();
    const sdk = createHttpClient({
      url: front.base,
      keyId: key.keyId,
      secret: key.secret,
      retry: { attempts: 2, backoff: { initialMs: 10, maxMs: 20 } },
    });
    const error = await sdk.usage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiUnreachableError);
    expect((error as Error).message).toMatch(/^GET \/v1\/usage: no answer after 2 attempt\(s\)/);
  });

  it('renews its token before it expires, so no call fails (token lifetime 10 s)', async () => {
    const { config } = h.environment;
    const shortLived = await startApi(
      { ...config, api: { ...config.api, tokenTtlMs: 10_000 } },
      { log: createLogger('silent') },
    );
    const own = await h.key('acme');
    const sdk = createHttpClient({
      url: `http://127.0.0.1:${shortLived.port}`,
      keyId: own.keyId,
      secret: own.secret,
      auth: 'oauth',
    });
    const issued = () =>
      count(`SELECT count(*)::text AS n FROM audit_log WHERE key_id = $1 AND outcome = 'token.issued'`, [
        own.keyId,
      ]);
    let calls = 0;
    // Every call must succeed; polling stops once a second token was issued (after ~7.5 s).
    await until(
      async () => {
        await sdk.usage();
        calls++;
        return (await issued()) === 2;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: 'a second token' },
    );
    expect(calls).toBeGreaterThan(2);
    await shortLived.stop();
  }, 30_000);
});
