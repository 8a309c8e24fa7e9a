import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultEvent } from '../../src/contracts/result-event.js';
import { decodeSigningSecret, generateSigningKey } from '../../src/signing/index.js';
import { createGatewayHarness, type GatewayHarness, jobBody, type TestKey } from '../gateway/harness.js';
import { until } from '../support/until.js';

// Verdicts on messages nobody could verify, through a running gateway on the real broker and
// database: never routed under the tenant a public key id names, nothing published without a
// job id. (A flood of them: unverified-flood.test.ts.)

let h: GatewayHarness;
let victim: TestKey;

beforeAll(async () => {
  h = await createGatewayHarness('unverified');
  await h.startGateway();
  const tenant = await h.tenant();
  victim = await h.key(tenant);
  await h.grant(tenant, 'in-v', '', 'read');
  await h.grant(tenant, 'out-v', '', 'write');
});
afterAll(async () => h?.dispose());

const body = () => jobBody('in-v', ['a.jpg'], { bucket: 'out-v', prefix: 'cut/' });
const kinds = (messages: readonly { json(): unknown }[]) =>
  messages.map((m) => (m.json() as ResultEvent).kind);

async function unverifiedAudit() {
  return h.db.query<{ reason: string; message_id: string | null; tenant_id: string | null; detail: string }>(
    `SELECT reason, message_id, tenant_id, detail FROM audit_log WHERE tenant_id IS NULL ORDER BY id`,
  );
}

describe('verdicts on unverified messages', () => {
  it("a forged message with the victim's key id reaches no follower of the victim's job", async () => {
    const real = h.signed(victim, body());
    const follower = await h.broker.collect(
      h.broker.names.resultsExchange,
      `${victim.tenantId}.${real.messageId}.#`,
    );
    await h.publish(real);
    await follower.waitFor((messages) => messages.length === 1);

    const impostor = generateSigningKey('hmac-sha256', 'test');
    const forger: TestKey = { ...victim, secret: decodeSigningSecret(impostor.shownOnce) };
    const forged = h.signed(forger, body(), { messageId: real.messageId });
    await h.publish(forged);
    const [, rejection] = await h.decisions(real.messageId, 2);
    expect(rejection).toMatchObject({ kind: 'rejected', reason: 'bad_signature', tenant: null });
    const routed = h.results.messages.find((m) => (m.json() as ResultEvent).eventId === rejection!.eventId);
    expect(routed?.routingKey).toBe(`_.${real.messageId}.rejected`);
    // The follower got the real verdict only, and still has nothing else once the forged one is out.
    expect(kinds(follower.messages)).toEqual(['accepted']);
    const [audit] = await h.db.query<{ tenant_id: string | null }>(
      `SELECT tenant_id FROM audit_log WHERE message_id = $1 AND reason = 'bad_signature'`,
      [real.messageId],
    );
    expect(audit).toEqual({ tenant_id: null });
  });

  it('publishes nothing for a message with neither a verified tenant nor a job id', async () => {
    const before = h.results.messages.length;
    await h.publish({ body: Buffer.from('{}') });
    await until(async () => (await unverifiedAudit()).some((row) => row.reason === 'missing_header'), {
      what: 'the headerless message to be audited',
    });
    // A verdict published after the headerless one's commit proves the relay got past it.
    const marker = h.signed(victim, body());
    await h.publish(marker);
    await h.decision(marker.messageId);
    const since = h.results.messages.slice(before).map((m) => m.json() as ResultEvent);
    expect(since.map((e) => `${e.kind} ${e.jobId}`)).toEqual([`accepted ${marker.messageId}`]);
  });
});
