import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createProducer,
  InvalidJobError,
  type Producer,
  PublishError,
  type ResultEvent,
} from '../../src/client/index.js';
import {
  decodePublicKey,
  generateSigningKey,
  KeyFormatError,
  parseSignedHeaders,
  verifySignature,
} from '../../src/signing/index.js';
import { testAmqpUrl } from '../support/environment.js';
import { startHoldingProxy } from '../support/tcp-proxy.js';
import { createJobsTap, type JobsTap } from './broker-tap.js';

const prefix = `t_client_${randomBytes(4).toString('hex')}`;
const hmac = generateSigningKey('hmac-sha256', 'test');
const ed25519 = generateSigningKey('ed25519', 'live');
const job = {
  input: { bucket: 'catalog', keys: ['shoes/red.jpg', 'shoes/blue.jpg'] },
  output: { bucket: 'cutouts', prefix: 'shoes/' },
  renditions: [{ kind: 'cutout' as const }, { kind: 'mask' as const }],
  metadata: { batch: 7 },
};
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let tap: JobsTap;
const producers: Producer[] = [];
async function producer(key = hmac): Promise<Producer> {
  const made = await createProducer({
    amqpUrl: testAmqpUrl,
    prefix,
    keyId: key.keyId,
    secret: key.shownOnce,
  });
  producers.push(made);
  return made;
}

beforeAll(async () => {
  tap = await createJobsTap(prefix);
});
afterAll(async () => {
  for (const made of producers) await made.close();
  await tap.dispose();
});

describe('createProducer', () => {
  it('refuses a malformed key id or secret before connecting', async () => {
    const options = { amqpUrl: 'amqp://127.0.0.1:1', prefix, keyId: hmac.keyId, secret: hmac.shownOnce };
    await expect(createProducer({ ...options, keyId: 'ck_live_short' })).rejects.toThrow(KeyFormatError);
    await expect(createProducer({ ...options, secret: 'hunter2' })).rejects.toThrow(KeyFormatError);
    await expect(createProducer({ ...options, prefix: 'Bad Prefix' })).rejects.toThrow(
      /lowercase identifier/,
    );
  });
});

describe('submit', () => {
  it('fails with PublishError while the jobs exchange does not exist, and recovers once it does', async () => {
    const made = await producer();
    await expect(made.submit(job)).rejects.toThrow(PublishError);
    await tap.declareExchanges();
    await expect(made.submit(job)).resolves.toMatch(uuid);
    await tap.nthJob(1);
  });

  it('reconnects by itself after losing the broker; a submit meanwhile fails and can be retried', async () => {
    const proxy = await startHoldingProxy({ host: '127.0.0.1', port: 5672 });
    const states: string[] = [];
    const made = await createProducer({
      amqpUrl: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      prefix,
      keyId: hmac.keyId,
      secret: hmac.shownOnce,
      log: { warn: (_, message) => states.push(message), info: (_, message) => states.push(message) },
    });
    try {
      const before = tap.jobs.length;
      proxy.refuse(true);
      proxy.sever();
      await expect(made.submit(job, { jobId: 'while-away' })).rejects.toThrow(PublishError);
      proxy.refuse(false);
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          await made.submit(job, { jobId: 'while-away' });
          break;
        } catch (error) {
          expect(error).toBeInstanceOf(PublishError);
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      await tap.nthJob(before + 1);
      // At least once: a retry after an unconfirmed publish may send it twice (the gateway dedupes).
      expect(new Set(tap.jobs.slice(before).map((j) => j.properties.messageId))).toEqual(
        new Set(['while-away']),
      );
      expect(states[0]).toBe('broker connection lost; reconnecting');
      expect(states.at(-1)).toBe('broker connection restored; topology declared, consuming again');
    } finally {
      await made.close();
      await proxy.close();
    }
  });

  it('publishes a persistent JSON message whose signature verifies with the secret', async () => {
    const made = await producer();
    const before = tap.jobs.length;
    const jobId = await made.submit(job, { jobId: 'catalog-2026-01' });
    expect(jobId).toBe('catalog-2026-01');
    const message = await tap.nthJob(before + 1);
    const { properties } = message;
    expect(properties.messageId).toBe('catalog-2026-01');
    expect(properties.contentType).toBe('application/json');
    expect(properties.deliveryMode).toBe(2);
    expect(Math.abs(properties.timestamp - Date.now() / 1000)).toBeLessThan(300);
    expect(JSON.parse(message.content.toString())).toEqual({ version: 1, ...job });
    const parsed = parseSignedHeaders(properties.headers, properties.messageId, properties.contentType);
    expect(parsed.keyId).toBe(hmac.keyId);
    expect(parsed.signature.version).toBe(1);
    if (hmac.algorithm !== 'hmac-sha256') throw new Error('expected HMAC');
    expect(verifySignature(parsed, message.content, { algorithm: 'hmac-sha256', secret: hmac.secret })).toBe(
      true,
    );
    expect(
      verifySignature(parsed, Buffer.concat([message.content, Buffer.from(' ')]), {
        algorithm: 'hmac-sha256',
        secret: hmac.secret,
      }),
    ).toBe(false);
  });

  it('signs with Ed25519 so that the public key alone verifies', async () => {
    const made = await producer(ed25519);
    const before = tap.jobs.length;
    const jobId = await made.submit(job);
    const message = await tap.nthJob(before + 1);
    expect(message.properties.messageId).toBe(jobId);
    const parsed = parseSignedHeaders(
      message.properties.headers,
      message.properties.messageId,
      message.properties.contentType,
    );
    expect(parsed.signature.version).toBe(2);
    if (ed25519.algorithm !== 'ed25519') throw new Error('expected Ed25519');
    expect(
      verifySignature(parsed, message.content, {
        algorithm: 'ed25519',
        publicKey: decodePublicKey(ed25519.publicKey),
      }),
    ).toBe(true);
  });

  it('uses a fresh nonce for every message, even for a repeated job id', async () => {
    const made = await producer();
    const before = tap.jobs.length;
    await made.submit(job, { jobId: 'same' });
    await made.submit(job, { jobId: 'same' });
    const [first, second] = [await tap.nthJob(before + 1), await tap.nthJob(before + 2)];
    expect(first.properties.headers?.['cc-nonce']).not.toBe(second.properties.headers?.['cc-nonce']);
  });

  it('refuses an invalid job or job id and publishes nothing', async () => {
    const made = await producer();
    const before = tap.jobs.length;
    const invalid = made.submit({ ...job, input: { bucket: 'catalog', key: '../etc/passwd' } });
    await expect(invalid).rejects.toThrow(InvalidJobError);
    await expect(invalid).rejects.toThrow(/input\.key: must not contain "\." or "\.\." path segments/);
    await expect(made.submit(job, { jobId: 'has.dot' })).rejects.toThrow(/jobId/);
    // A confirmed marker proves nothing was queued ahead of it.
    const marker = await made.submit(job);
    expect((await tap.nthJob(before + 1)).properties.messageId).toBe(marker);
  });
});

describe('followResults', () => {
  it("delivers the events of its tenant's job only, in order, and ends when closed", async () => {
    const made = await producer();
    const invalid: string[] = [];
    const follower = await made.followResults('job-a', {
      tenant: 'acme',
      onInvalid: (problem) => invalid.push(problem),
    });
    const event = (jobId: string, kind: 'accepted' | 'job.completed', tenant = 'acme') =>
      kind === 'accepted'
        ? {
            version: 1,
            kind,
            eventId: `${jobId}-1`,
            at: new Date().toISOString(),
            tenant,
            jobId,
            keyId: hmac.keyId,
            items: 2,
            model: 'u2net',
          }
        : {
            version: 1,
            kind,
            eventId: `${jobId}-2`,
            at: new Date().toISOString(),
            tenant,
            jobId,
            total: 2,
            succeeded: 2,
            failed: 0,
            manifest: null,
          };
    await tap.publishResult('acme.job-b.accepted', event('job-b', 'accepted'));
    // The same job id in another tenant: neither its routing key nor its body is acme's.
    await tap.publishResult('globex.job-a.accepted', event('job-a', 'accepted', 'globex'));
    await tap.publishResult('acme.job-a.accepted', event('job-a', 'job.completed', 'globex'));
    await tap.publishResult('acme.job-a.accepted', event('job-a', 'accepted'));
    await tap.publishResult('acme.job-a.item.succeeded', Buffer.from('not json'));
    await tap.publishResult('acme.job-a.job.completed', event('job-a', 'job.completed'));
    const received: ResultEvent[] = [];
    for await (const next of follower) {
      received.push(next);
      if (next.kind === 'job.completed') break;
    }
    expect(received.map((next) => [next.kind, 'jobId' in next && next.jobId])).toEqual([
      ['accepted', 'job-a'],
      ['job.completed', 'job-a'],
    ]);
    expect(invalid).toEqual([
      'an event of globex/job-a arrived for acme/job-a',
      'a result message is not JSON',
    ]);
    await follower.close();
    const iterator = follower[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
