import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayHarness, type GatewayHarness } from '../gateway/harness.js';
import { startTestS3, type TestS3 } from '../support/s3.js';
import { until } from '../support/until.js';

// The NUL-manifest attack end to end: signed jobs over the real broker, a real gateway admitting
// and listing them, the manifest in the embedded S3 server. Tenant A submits a manifest with NUL
// bytes, then tenant B a prefix job; before the fix A's pages failed forever and B never got listed.

let s3: TestS3;
let h: GatewayHarness;
let bucket: string;

beforeAll(async () => {
  s3 = await startTestS3();
  h = await createGatewayHarness('abuse nul gateway', s3.env);
  bucket = await s3.createBucket('nul-gateway');
  await h.startGateway();
}, 60_000);
afterAll(async () => {
  await h?.dispose();
  await s3?.stop();
});

const body = (input: object, prefix: string) => ({
  version: 1,
  input,
  output: { bucket, prefix },
  renditions: [{ kind: 'cutout', format: 'png' }],
  model: 'u2netp',
});

async function jobState(tenant: string, jobId: string) {
  const [row] = await h.db.query<{ state: string; total: number | null; skipped: number }>(
    'SELECT state, total, skipped FROM jobs WHERE tenant_id = $1 AND id = $2',
    [tenant, jobId],
  );
  return row;
}

describe('a NUL manifest submitted through the gateway', () => {
  it("does not stall another tenant's catalog job, and ends listed with its NUL lines skipped", async () => {
    const nul = '\u0000';
    const manifest = [
      'a/1.jpg',
      `a/2${nul}.jpg`,
      `{"key": "a/3.jpg"}${nul}`,
      '{"key": "a/4\\u0000.jpg"}',
      'a/5.jpg',
    ];
    await s3.store.put(bucket, 'a/list.jsonl', Buffer.from(manifest.join('\n')), {
      contentType: 'text/plain',
    });
    for (const key of ['b/1.jpg', 'b/2.jpg']) {
      await s3.store.put(bucket, key, Buffer.from('x'), { contentType: 'image/jpeg' });
    }
    const attacker = await h.tenant();
    await h.grant(attacker, bucket, 'a/', 'read');
    await h.grant(attacker, bucket, 'out-a/', 'write');
    const victim = await h.tenant();
    await h.grant(victim, bucket, 'b/', 'read');
    await h.grant(victim, bucket, 'out-b/', 'write');

    const attack = h.signed(
      await h.key(attacker),
      body({ manifest: { bucket, key: 'a/list.jsonl' } }, 'out-a/'),
    );
    await h.publish(attack);
    expect(await h.decision(attack.messageId)).toMatchObject({ kind: 'accepted' });
    const victimJob = h.signed(await h.key(victim), body({ bucket, prefix: 'b/' }, 'out-b/'));
    await h.publish(victimJob);
    expect(await h.decision(victimJob.messageId)).toMatchObject({ kind: 'accepted' });

    await until(async () => (await jobState(victim, victimJob.messageId))?.state !== 'expanding', {
      what: "the other tenant's prefix job to be listed",
    });
    expect(await jobState(victim, victimJob.messageId)).toMatchObject({ total: 2 });
    await until(async () => (await jobState(attacker, attack.messageId))?.state !== 'expanding', {
      what: 'the NUL manifest job to be listed',
    });
    expect(await jobState(attacker, attack.messageId)).toMatchObject({ total: 2, skipped: 3 });
    const problems = await h.db.query<{ entry: string; message: string }>(
      'SELECT entry, message FROM job_input_problems WHERE tenant_id = $1 AND job_id = $2 ORDER BY position',
      [attacker, attack.messageId],
    );
    expect(problems.map((p) => p.entry)).toEqual([
      'a/2\\u0000.jpg',
      '{"key": "a/3.jpg"}\\u0000',
      '{"key": "a/4\\u0000.jpg"}',
    ]);
  });
});
