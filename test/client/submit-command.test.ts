import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/submit.js';
import type { CliIo } from '../../src/cli/io.js';
import type { Environment } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { generateSigningKey, parseSignedHeaders } from '../../src/signing/index.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { createJobsTap, type JobsTap } from './broker-tap.js';

const key = generateSigningKey('hmac-sha256', 'test');
let environment: TestEnvironment;
let tap: JobsTap;
let env: Environment;
const folder = mkdtempSync(join(tmpdir(), 'clearcut-submit-'));

beforeAll(async () => {
  environment = await createTestEnvironment('submit command');
  env = { ...environment.env, CLEARCUT_KEY_ID: key.keyId, CLEARCUT_KEY_SECRET: key.shownOnce };
  tap = await createJobsTap(environment.amqpPrefix);
  await tap.declareExchanges();
  // A stand-in gateway: answers by the job id's first word, as the real one answers by its checks.
  tap.onJob((message) => {
    const jobId = String(message.properties.messageId);
    const base = { version: 1, at: new Date().toISOString(), tenant: 'acme', jobId };
    const publish = (kind: string, body: object) =>
      void tap.publishResult(`acme.${jobId}.${kind}`, {
        ...base,
        kind,
        eventId: `${jobId}.${kind}`,
        ...body,
      });
    if (jobId.startsWith('reject')) {
      publish('rejected', {
        keyId: key.keyId,
        reason: 'rate_limited',
        message: 'too many jobs',
        retryAfterSeconds: 12,
      });
    } else if (jobId.startsWith('accept')) {
      // Another tenant's verdict on the same job id (job ids are unique per tenant only), first:
      // a follower of acme's job must never see it.
      void tap.publishResult(`globex.${jobId}.rejected`, {
        ...base,
        tenant: 'globex',
        kind: 'rejected',
        eventId: `${jobId}.forged`,
        keyId: key.keyId,
        reason: 'bad_signature',
        message: 'forged',
      });
      publish('accepted', { keyId: key.keyId, items: 1, model: 'u2net' });
      const source = { bucket: 'catalog', key: 'a.jpg' };
      publish('item.failed', {
        taskId: '1',
        item: 0,
        source,
        error: { code: 'not_found', message: 'gone' },
        attempt: 1,
      });
      publish('job.completed', { total: 1, succeeded: 0, failed: 1, manifest: null });
    }
  });
});
afterAll(async () => {
  await tap.dispose();
  await environment.dispose();
});

function capture(
  extra: Environment = {},
): CliIo & { out: (text: string) => void; lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    env: { ...env, ...extra },
    interactive: false,
    lines,
    errors,
    out: (text) => lines.push(text),
    err: (text) => errors.push(text),
  };
}

async function submit(args: string[], io = capture()) {
  return { code: await run(args, io), io };
}

const output = ['--output', 's3://cutouts/shoes/'];
const oneKey = ['--bucket', 'catalog', '--key', 'a.jpg', ...output];

describe('clearcut submit', () => {
  it('builds the job from flags, signs it, publishes it and prints the job id', async () => {
    const { code, io } = await submit([
      '--bucket',
      'catalog',
      '--keys',
      'a.jpg,b.jpg',
      ...output,
      '--rendition',
      'cutout:webp,mask',
      '--model',
      'u2netp',
      '--priority',
      'high',
      '--metadata',
      '{"batch":7}',
      '--job-id',
      'flags-1',
    ]);
    expect(code).toBe(0);
    expect(io.lines).toEqual(['flags-1']);
    const message = await tap.jobWithId('flags-1');
    expect(JSON.parse(message.content.toString())).toEqual({
      version: 1,
      input: { bucket: 'catalog', keys: ['a.jpg', 'b.jpg'] },
      output: { bucket: 'cutouts', prefix: 'shoes/' },
      renditions: [{ kind: 'cutout', format: 'webp' }, { kind: 'mask' }],
      model: 'u2netp',
      priority: 'high',
      metadata: { batch: 7 },
    });
    expect(parseSignedHeaders(message.properties.headers, 'flags-1', 'application/json').keyId).toBe(
      key.keyId,
    );
  });

  it('reads a whole job from --body and the key from flags over the environment', async () => {
    const file = join(folder, 'job.json');
    writeFileSync(
      file,
      JSON.stringify({
        input: { manifest: { bucket: 'catalog', key: 'all.csv' } },
        output: { bucket: 'cutouts', prefix: '' },
      }),
    );
    const other = generateSigningKey('ed25519', 'test');
    const { code } = await submit([
      '--body',
      file,
      '--key-id',
      other.keyId,
      '--key-secret',
      other.shownOnce,
      '--job-id',
      'body-1',
    ]);
    expect(code).toBe(0);
    const message = await tap.jobWithId('body-1');
    expect(message.properties.headers?.['cc-key-id']).toBe(other.keyId);
    expect(String(message.properties.headers?.['cc-signature'])).toMatch(/^v2=/);
  });

  it('--wait prints the decision; a rejection exits 3 with the reason', async () => {
    const accepted = await submit([...oneKey, '--job-id', 'accept-1', '--wait', '--tenant', 'acme']);
    expect(accepted.code).toBe(0);
    expect(accepted.io.lines).toEqual(['accept-1', 'accepted: job accept-1, 1 items, model u2net']);
    const rejected = await submit([...oneKey, '--job-id', 'reject-1', '--wait', '--tenant', 'acme']);
    expect(rejected.code).toBe(3);
    expect(rejected.io.lines[1]).toBe('rejected: rate_limited (retry after 12s)');
    expect(rejected.io.errors).toEqual(['clearcut submit: rejected (rate_limited): too many jobs']);
  });

  it('--follow prints every event until job.completed and exits 5 when items failed; --json prints JSON lines', async () => {
    const { code, io } = await submit([
      ...oneKey,
      '--job-id',
      'accept-2',
      '--follow',
      '--json',
      '--tenant',
      'acme',
    ]);
    expect(code).toBe(5);
    expect(io.lines.map((line) => JSON.parse(line).kind ?? JSON.parse(line).jobId)).toEqual([
      'accept-2',
      'accepted',
      'item.failed',
      'job.completed',
    ]);
  });

  it('gives up after --timeout with exit 4 when no gateway answers', async () => {
    const { code, io } = await submit([
      ...oneKey,
      '--job-id',
      'silent-1',
      '--wait',
      '--timeout',
      '1s',
      '--tenant',
      'acme',
    ]);
    expect(code).toBe(4);
    expect(io.errors[0]).toMatch(
      /no decision within 1s; is a gateway consuming t_submit_command_[0-9a-f]+\.jobs\.inbox, and is acme the tenant of the signing key\? \(events are routed by the key's tenant/,
    );
  });

  const usage: [string, string[], RegExp, Environment?][] = [
    ['no input', [...output], /give exactly one input/],
    ['two inputs', ['--bucket', 'b1b', '--key', 'a', '--prefix', 'p/', ...output], /give exactly one input/],
    ['no output', ['--bucket', 'catalog', '--key', 'a.jpg'], /--output s3:\/\/BUCKET\/PREFIX is required/],
    ['no bucket', ['--key', 'a.jpg', ...output], /--bucket is required/],
    [
      'a bad output URI',
      ['--bucket', 'catalog', '--key', 'a', '--output', 'cutouts/x'],
      /--output: "cutouts\/x" is not an s3:\/\/ URI/,
    ],
    [
      'a bad rendition',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--rendition', 'cutout:'],
      /--rendition/,
    ],
    [
      'an unknown rendition',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--rendition', 'sketch'],
      /renditions\[0\]/,
    ],
    [
      'bad metadata',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--metadata', '{x'],
      /--metadata is not JSON/,
    ],
    ['a bad key', ['--bucket', 'catalog', '--key', 'a/../b', ...output], /input\.key: must not contain/],
    [
      '--body with a job flag',
      ['--body', 'x.json', '--bucket', 'catalog'],
      /--bucket does not go with --body/,
    ],
    ['a missing --body file', ['--body', join(folder, 'missing.json')], /--body .*ENOENT/],
    ['a manifest without a key', ['--manifest', 's3://catalog', ...output], /names no object/],
    [
      'a bad timeout',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--timeout', 'soon'],
      /--timeout "soon"/,
    ],
    ['an unknown flag', ['--bucket', 'catalog', '--colour', 'red'], /Unknown option '--colour'/],
    ['a bad job id', ['--bucket', 'catalog', '--key', 'a', ...output, '--job-id', 'a b'], /jobId/],
    [
      'no key id',
      ['--bucket', 'catalog', '--key', 'a', ...output],
      /--key-id or CLEARCUT_KEY_ID is required/,
      { CLEARCUT_KEY_ID: '' },
    ],
    [
      'no secret',
      ['--bucket', 'catalog', '--key', 'a', ...output],
      /CLEARCUT_KEY_SECRET is required/,
      { CLEARCUT_KEY_SECRET: '' },
    ],
    [
      '--wait without --tenant',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--wait'],
      /need --tenant T/,
    ],
    [
      '--follow with a bad --tenant',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--follow', '--tenant', 'Acme.*'],
      /--tenant "Acme\.\*" is not a tenant id/,
    ],
    [
      'a bad secret',
      ['--bucket', 'catalog', '--key', 'a', ...output, '--key-secret', 'cks_short'],
      /key: not an HMAC secret/,
    ],
  ];
  for (const [label, args, message, extra] of usage) {
    it(`refuses ${label} with a usage error and publishes nothing`, async () => {
      const before = tap.jobs.length;
      const error = await run(args, capture(extra)).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
      expect(tap.jobs.length).toBe(before);
    });
  }

  it('prints its help', async () => {
    const io = capture();
    expect(await run(['--help'], io)).toBe(0);
    expect(io.lines[0]).toMatch(/^Usage: clearcut submit/);
  });
});
