import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { createKey, revokeKey, rotateKey } from '../../src/keys/key-admin.js';
import { decodeSigningSecret, generateSigningKey } from '../../src/signing/index.js';
import { until } from '../support/until.js';
import { createGatewayHarness, type GatewayHarness, jobBody, type TestKey } from './harness.js';

// Every reason code, each with a real signed (or mis-signed) message through a running gateway
// against the real broker and database.

const windowSeconds = 5;
/** How far the gateway's clock is ahead of this process's: tests move time instead of sleeping. */
let clockShiftMs = 0;
afterEach(() => {
  clockShiftMs = 0;
});
let h: GatewayHarness;
let key: TestKey;
let tenant: string;

beforeAll(async () => {
  h = await createGatewayHarness('admission', {
    CLEARCUT_TIMESTAMP_WINDOW: `${windowSeconds}s`,
    CLEARCUT_MAX_BODY_BYTES: '2KiB',
  });
  await h.startGateway({}, { now: () => new Date(Date.now() + clockShiftMs) });
  tenant = await h.tenant();
  key = await h.key(tenant);
  await h.grant(tenant, 'in-a', 'photos/', 'read');
  await h.grant(tenant, 'out-a', '', 'write');
});
afterAll(async () => h?.dispose());

const body = (keys = ['photos/1.jpg']) => jobBody('in-a', keys, { bucket: 'out-a', prefix: 'cut/' });
const nowSeconds = () => Math.floor(Date.now() / 1000);

async function rejection(message: Parameters<GatewayHarness['publish']>[0] & { messageId: string }) {
  await h.publish(message);
  const event = await h.decision(message.messageId);
  if (event.kind !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(event)}`);
  return event;
}

async function auditOf(messageId: string) {
  return h.db.query<{
    outcome: string;
    reason: string | null;
    tenant_id: string | null;
    key_id: string | null;
  }>('SELECT outcome, reason, tenant_id, key_id FROM audit_log WHERE message_id = $1 ORDER BY id', [
    messageId,
  ]);
}

describe('admitted jobs', () => {
  it('admits an HMAC-signed job: job row, tasks on the queue, audit row, accepted event', async () => {
    const message = h.signed(key, body(['photos/1.jpg', 'photos/2.jpg']));
    await h.publish(message);
    expect(await h.decision(message.messageId)).toMatchObject({
      kind: 'accepted',
      tenant,
      jobId: message.messageId,
      keyId: key.keyId,
      items: 2,
      model: 'u2netp',
    });
    const tasks = await h.db.query<{ status: string }>('SELECT status FROM tasks WHERE job_id = $1', [
      message.messageId,
    ]);
    expect(tasks).toHaveLength(2);
    expect(await auditOf(message.messageId)).toEqual([
      { outcome: 'accepted', reason: null, tenant_id: tenant, key_id: key.keyId },
    ]);
  });

  it('admits an Ed25519-signed job verified with only the stored public key', async () => {
    const edKey = await h.key(tenant, { algorithm: 'ed25519' });
    const [stored] = await h.db.query<{ secret_ciphertext: Buffer | null }>(
      'SELECT secret_ciphertext FROM api_keys WHERE key_id = $1',
      [edKey.keyId],
    );
    expect(stored?.secret_ciphertext).toBeNull();
    const message = h.signed(edKey, body());
    await h.publish(message);
    expect(await h.decision(message.messageId)).toMatchObject({ kind: 'accepted', keyId: edKey.keyId });
  });
});

describe('rejections, in the order the checks run', () => {
  it('body_too_large: refused before anything else is read', async () => {
    const big = { ...body(), metadata: { padding: 'x'.repeat(2500) } };
    const event = await rejection(h.signed(key, big));
    expect(event).toMatchObject({ reason: 'body_too_large', tenant: null });
  });

  it('missing_header and invalid_header, with the rejection routed to the job id', async () => {
    const message = h.signed(key, body());
    const { 'cc-signature': _, ...unsigned } = message.headers as Record<string, string>;
    expect(await rejection({ ...message, headers: unsigned })).toMatchObject({ reason: 'missing_header' });

    const badTime = h.signed(key, body());
    const event = await rejection({
      ...badTime,
      headers: { ...badTime.headers, 'cc-timestamp': 'yesterday' },
    });
    expect(event).toMatchObject({ reason: 'invalid_header', jobId: badTime.messageId });
    expect(event.message).toContain('cc-timestamp');

    const numeric = h.signed(key, body());
    expect(await rejection({ ...numeric, headers: { ...numeric.headers, 'cc-nonce': 12345 } })).toMatchObject(
      { reason: 'invalid_header' },
    );
  });

  it('unknown_key: a well-formed key id nobody created; routed with tenant "_"', async () => {
    const made = generateSigningKey('hmac-sha256', 'test');
    const stranger = { keyId: made.keyId, tenantId: '?', secret: decodeSigningSecret(made.shownOnce) };
    const message = h.signed(stranger, body());
    await h.publish(message);
    const event = await h.decision(message.messageId);
    expect(event).toMatchObject({ kind: 'rejected', reason: 'unknown_key', tenant: null, keyId: made.keyId });
    const routed = h.results.messages.find((m) => (m.json() as ResultEvent).eventId === event.eventId);
    expect(routed?.routingKey).toBe(`_.${message.messageId}.rejected`);
    expect(await auditOf(message.messageId)).toEqual([
      { outcome: 'rejected', reason: 'unknown_key', tenant_id: null, key_id: made.keyId },
    ]);
  });

  it('revoked_key: `keys revoke` is effective one second later', async () => {
    const doomed = await h.key(tenant);
    const before = h.signed(doomed, body());
    await h.publish(before);
    expect(await h.decision(before.messageId)).toMatchObject({ kind: 'accepted' });
    await revokeKey(h.db, doomed.keyId);
    let last: ResultEvent | undefined;
    await until(
      async () => {
        const message = h.signed(doomed, body());
        await h.publish(message);
        last = await h.decision(message.messageId);
        return last.kind === 'rejected';
      },
      { timeoutMs: 1500, intervalMs: 100, what: 'the revocation to reach the gateway' },
    );
    expect(last).toMatchObject({ reason: 'revoked_key', tenant });
  });

  it('unknown_key: an event-source key signs no job (its secret travels to POST /oauth/token)', async () => {
    const created = await createKey(h.db, h.masterKey, {
      tenantId: tenant,
      purpose: 'event-source',
      algorithm: 'hmac-sha256',
      environment: 'test',
      expiresAt: null,
    });
    const eventSource: TestKey = {
      keyId: created.key.keyId,
      tenantId: tenant,
      secret: decodeSigningSecret(created.shownOnce),
    };
    const refused = await rejection(h.signed(eventSource, body()));
    expect(refused).toMatchObject({ reason: 'unknown_key', tenant, keyId: eventSource.keyId });
    expect(refused.message).toMatch(/is an event-source key: .* signs nothing/);
  });

  it('a rotated key works inside its grace period and is expired_key after it; the new key works', async () => {
    const old = await h.key(tenant);
    const { created } = await rotateKey(h.db, h.masterKey, old.keyId, { graceMs: 2500 });
    const successor: TestKey = {
      keyId: created.key.keyId,
      tenantId: tenant,
      secret: decodeSigningSecret(created.shownOnce),
    };
    const inside = h.signed(old, body());
    await h.publish(inside);
    expect(await h.decision(inside.messageId)).toMatchObject({ kind: 'accepted', keyId: old.keyId });
    clockShiftMs = 3000; // past the grace period, still inside the timestamp window
    expect(await rejection(h.signed(old, body()))).toMatchObject({ reason: 'expired_key' });
    const fresh = h.signed(successor, body());
    await h.publish(fresh);
    expect(await h.decision(fresh.messageId)).toMatchObject({ kind: 'accepted', keyId: successor.keyId });
  });

  it('bad_signature: a tampered body, and a signature made with another key', async () => {
    const message = h.signed(key, body(['photos/1.jpg']));
    const tampered = Buffer.from(message.body.toString().replace('photos/1.jpg', 'photos/9.jpg'));
    // Unverified: the key id is public, so the verdict is not the tenant's (routed under "_").
    expect(await rejection({ ...message, body: tampered })).toMatchObject({
      reason: 'bad_signature',
      tenant: null,
      keyId: key.keyId,
    });

    const other = await h.key(tenant);
    const forged = h.signed({ ...other, keyId: key.keyId }, body());
    expect(await rejection(forged)).toMatchObject({ reason: 'bad_signature' });
    const [row] = await h.db.query('SELECT 1 FROM jobs WHERE id = $1', [forged.messageId]);
    expect(row).toBeUndefined();
  });

  it('stale_timestamp: signed too long ago or too far ahead', async () => {
    const old = await rejection(h.signed(key, body(), { timestamp: nowSeconds() - 600 }));
    expect(old).toMatchObject({ reason: 'stale_timestamp' });
    const ahead = await rejection(h.signed(key, body(), { timestamp: nowSeconds() + 600 }));
    expect(ahead).toMatchObject({ reason: 'stale_timestamp' });
  });

  it('replayed_nonce: a captured valid message replayed inside the window; stale outside it', async () => {
    const captured = h.signed(key, body(), { timestamp: nowSeconds() - 2 });
    await h.publish(captured);
    await h.publish(captured);
    const [first, replay] = await h.decisions(captured.messageId, 2);
    expect(first).toMatchObject({ kind: 'accepted' });
    expect(replay).toMatchObject({ kind: 'rejected', reason: 'replayed_nonce' });

    // Same nonce, new job id and signature: still the key's used nonce.
    const reused = h.signed(key, body(), { nonce: (captured.headers as Record<string, string>)['cc-nonce'] });
    expect(await rejection(reused)).toMatchObject({ reason: 'replayed_nonce' });

    const closes =
      (Number((captured.headers as Record<string, string>)['cc-timestamp']) + windowSeconds + 1) * 1000;
    clockShiftMs = Math.max(0, closes - Date.now());
    await h.publish(captured);
    const [, , outside] = await h.decisions(captured.messageId, 3);
    expect(outside).toMatchObject({ kind: 'rejected', reason: 'stale_timestamp' });
    const jobs = await h.db.query('SELECT 1 FROM jobs WHERE id = $1', [captured.messageId]);
    expect(jobs).toHaveLength(1);
  });

  it('invalid_body: not JSON, not UTF-8, or not the schema, with one problem per line', async () => {
    expect(await rejection(h.signed(key, Buffer.from('{"version": 1,')))).toMatchObject({
      reason: 'invalid_body',
    });
    expect(await rejection(h.signed(key, Buffer.from([0xff, 0xfe, 0x7b])))).toMatchObject({
      reason: 'invalid_body',
    });
    const event = await rejection(h.signed(key, { ...body(['photos/../secret.jpg']), renditons: [] }));
    expect(event.reason).toBe('invalid_body');
    if (event.kind !== 'rejected') throw new Error('unreachable');
    expect(event.problems?.length).toBeGreaterThanOrEqual(2);
  });

  it('unknown_model; a prefix input is admitted with items unknown', async () => {
    expect(await rejection(h.signed(key, { ...body(), model: 'no-such-model' }))).toMatchObject({
      reason: 'unknown_model',
    });
    const prefixJob = h.signed(key, { ...body(), input: { bucket: 'in-a', prefix: 'photos/' } });
    await h.publish(prefixJob);
    expect(await h.decision(prefixJob.messageId)).toMatchObject({ kind: 'accepted', items: null });
  });

  it("forbidden_location: tenant A naming tenant B's bucket, outside its prefix, or writing without a grant", async () => {
    const tenantB = await h.tenant();
    await h.grant(tenantB, 'in-b', '', 'read');
    const intoB = await rejection(h.signed(key, jobBody('in-b', ['1.jpg'], { bucket: 'out-a', prefix: '' })));
    expect(intoB).toMatchObject({ reason: 'forbidden_location', tenant });
    expect(intoB.kind === 'rejected' && intoB.message).toContain('s3://in-b/1.jpg');
    expect(await rejection(h.signed(key, body(['photosX/1.jpg'])))).toMatchObject({
      reason: 'forbidden_location',
    });
    const noWrite = jobBody('in-a', ['photos/1.jpg'], { bucket: 'in-a', prefix: 'photos/out/' });
    expect(await rejection(h.signed(key, noWrite))).toMatchObject({ reason: 'forbidden_location' });
  });

  it('too_many_items, rate_limited with retry-after, quota_exceeded', async () => {
    const limited = await h.tenant();
    const limitedKey = await h.key(limited);
    await h.grant(limited, 'in-a', '', 'read');
    await h.grant(limited, 'out-a', '', 'write');
    await h.quota(limited, { maxItemsPerJob: 3, jobsPerMinute: 1, burst: 2, imagesPerDay: 4 });
    const job = (n: number) =>
      jobBody(
        'in-a',
        Array.from({ length: n }, (_, i) => `${i}.jpg`),
        { bucket: 'out-a', prefix: '' },
      );

    expect(await rejection(h.signed(limitedKey, job(4)))).toMatchObject({ reason: 'too_many_items' });
    const first = h.signed(limitedKey, job(3));
    await h.publish(first);
    expect(await h.decision(first.messageId)).toMatchObject({ kind: 'accepted' });
    const overQuota = await rejection(h.signed(limitedKey, job(2)));
    expect(overQuota).toMatchObject({ reason: 'quota_exceeded' });
    expect(overQuota.kind === 'rejected' && overQuota.message).toContain('daily');
    const limitedRetry = await rejection(h.signed(limitedKey, job(1)));
    expect(limitedRetry).toMatchObject({ reason: 'rate_limited' });
    expect(limitedRetry.kind === 'rejected' && limitedRetry.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('duplicate: the same job id with a fresh signature is acked, reported, and not run twice', async () => {
    const original = h.signed(key, body(['photos/1.jpg', 'photos/2.jpg']));
    await h.publish(original);
    expect(await h.decision(original.messageId)).toMatchObject({ kind: 'accepted' });
    const again = h.signed(key, body(['photos/3.jpg']), { messageId: original.messageId });
    await h.publish(again);
    const [, second] = await h.decisions(original.messageId, 2);
    expect(second).toMatchObject({ kind: 'rejected', reason: 'duplicate' });
    const tasks = await h.db.query('SELECT source_key FROM tasks WHERE job_id = $1 ORDER BY item', [
      original.messageId,
    ]);
    expect(tasks).toEqual([{ source_key: 'photos/1.jpg' }, { source_key: 'photos/2.jpg' }]);
    expect((await auditOf(original.messageId)).map((row) => row.outcome)).toEqual(['accepted', 'duplicate']);
  });

  it('rejects a job the database refuses to store every time, instead of retrying it forever', async () => {
    // PostgreSQL's jsonb cannot hold U+0000: the batch fails, is split, and only this job is refused.
    const poison = h.signed(key, { ...body(), metadata: { note: 'nul \u0000 here' } });
    const fine = h.signed(key, body());
    await Promise.all([h.publish(poison), h.publish(fine)]);
    expect(await h.decision(poison.messageId)).toMatchObject({ kind: 'rejected', reason: 'invalid_body' });
    expect(await h.decision(fine.messageId)).toMatchObject({ kind: 'accepted' });
  });

  it('keeps consuming after all of that, and left nothing unacked', async () => {
    const message = h.signed(key, body());
    await h.publish(message);
    expect(await h.decision(message.messageId)).toMatchObject({ kind: 'accepted' });
    expect(await h.broker.depth(h.broker.names.jobsQueue)).toBe(0);
  });
});
