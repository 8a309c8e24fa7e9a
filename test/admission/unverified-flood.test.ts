import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSigningSecret, generateSigningKey } from '../../src/signing/index.js';
import { createGatewayHarness, type GatewayHarness, jobBody, type TestKey } from '../gateway/harness.js';
import { until } from '../support/until.js';

// A flood of messages nobody can verify (here: an unknown key) through a running gateway on the
// real broker and database writes a bounded number of audit rows: one by one up to the limit per
// minute (a gateway of its own, so its budget is untouched), counted in aggregated rows beyond.

const auditLimit = 5;
let h: GatewayHarness;

beforeAll(async () => {
  h = await createGatewayHarness('unverified-flood', {
    CLEARCUT_GATEWAY_UNVERIFIED_AUDIT_LIMIT: String(auditLimit),
  });
  await h.startGateway();
});
afterAll(async () => h?.dispose());

const body = () => jobBody('in-v', ['a.jpg'], { bucket: 'out-v', prefix: 'cut/' });

async function unverifiedAudit() {
  return h.db.query<{ reason: string; message_id: string | null; detail: string; count: number }>(
    `SELECT reason, message_id, detail, count FROM audit_log WHERE tenant_id IS NULL ORDER BY id`,
  );
}

describe('a flood of unverified messages', () => {
  it('is audited one by one up to the limit, then counted in aggregated rows', async () => {
    const stranger = generateSigningKey('hmac-sha256', 'test');
    const key: TestKey = {
      keyId: stranger.keyId,
      tenantId: '?',
      secret: decodeSigningSecret(stranger.shownOnce),
    };
    const flood = 60;
    for (let n = 0; n < flood; n += 1) await h.publish(h.signed(key, body()));

    const counted = (rows: Awaited<ReturnType<typeof unverifiedAudit>>) =>
      rows.reduce((sum, row) => sum + row.count, 0);
    await until(async () => counted(await unverifiedAudit()) === flood, {
      what: `all ${flood} unknown_key messages to be audited or counted`,
    });
    const rows = await unverifiedAudit();
    expect(rows.every((row) => row.reason === 'unknown_key')).toBe(true);
    const single = rows.filter((row) => row.message_id !== null);
    const counting = rows.filter((row) => row.message_id === null);
    expect(single.map((row) => row.count)).toEqual(Array(auditLimit).fill(1));
    // The rest in one counting row, or one per batch decided at the same time (2 by default).
    expect(counting.length).toBeGreaterThanOrEqual(1);
    expect(counting.length).toBeLessThanOrEqual(2);
    for (const row of counting) {
      expect(row.detail).toMatch(new RegExp(`^${row.count} unverified messages refused \\(unknown_key\\)`));
    }
    // Verdicts published: only for those audited one by one.
    await until(() => h.results.messages.length >= auditLimit, { what: 'the rejected events' });
    expect(h.results.messages.every((m) => m.routingKey.startsWith('_.'))).toBe(true);
    expect(h.results.messages).toHaveLength(auditLimit);
  });
});
