import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayHarness, type GatewayHarness } from '../gateway/harness.js';
import { until } from '../support/until.js';

// The attack: a producer (or just time) fills audit_log, processed_events and job_input_problems
// with rows nothing ever deletes. A running gateway now sweeps each past its retention setting.

let h: GatewayHarness;
beforeAll(async () => {
  h = await createGatewayHarness('abuse retention');
}, 60_000);
afterAll(async () => h?.dispose());

const retention = {
  CLEARCUT_RETENTION_AUDIT: '1h',
  CLEARCUT_RETENTION_PROCESSED_EVENTS: '1h',
  CLEARCUT_RETENTION_INPUT_PROBLEMS: '1h',
};

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return row!.n;
}

describe('tables that grow with every message', () => {
  it('are swept by the gateway past their retention, and younger rows stay', async () => {
    const tenant = await h.tenant();
    await h.db.query(
      `INSERT INTO audit_log (at, message_id, source, outcome, reason)
       SELECT now() - g * interval '1 minute', 'flood-' || g, 'job', 'rejected', 'bad_signature'
       FROM generate_series(1, 3000) g`,
    ); // 3,000 rows, 1 min to 50 h old: the gateway deletes them a batch at a time
    await h.db.query(
      `INSERT INTO processed_events (bucket, key, etag, event_name, jobs, processed_at)
       VALUES ('b', 'old.jpg', 'e1', 's3:ObjectCreated:Put', '{}', now() - interval '2 hours'),
              ('b', 'new.jpg', 'e2', 's3:ObjectCreated:Put', '{}', now() - interval '10 minutes')`,
    );
    for (const [jobId, finalized] of [
      ['old-job', '3 hours'],
      ['new-job', '5 minutes'],
    ]) {
      await h.db.query(
        `INSERT INTO jobs (tenant_id, id, state, spec, model, lane, total, completed_at, finalized_at)
         VALUES ($1, $2, 'completed', '{}', 'u2netp', 'normal', 0, now() - $3::interval, now() - $3::interval)`,
        [tenant, jobId, finalized],
      );
      await h.db.query(
        `INSERT INTO job_input_problems (tenant_id, job_id, position, entry, code, message)
         SELECT $1, $2, g, 'x', 'invalid_line', 'x' FROM generate_series(1, 5) g`,
        [tenant, jobId],
      );
    }

    await h.startGateway(retention);

    const oldAudit = `audit_log WHERE message_id LIKE 'flood-%' AND at < now() - interval '1 hour'`;
    await until(async () => (await count(oldAudit)) === 0, { what: 'the old audit rows to be swept' });
    await until(async () => (await count(`job_input_problems WHERE job_id = 'old-job'`)) === 0, {
      what: 'the skipped entries of the job finalised 3 hours ago to be swept',
    });
    await until(async () => (await count(`processed_events WHERE key = 'old.jpg'`)) === 0, {
      what: 'the old processed event to be swept',
    });
    // Less than an hour old: kept (59 audit rows at 1..59 minutes, a few may age past the hour meanwhile).
    expect(await count(`audit_log WHERE message_id LIKE 'flood-%'`)).toBeGreaterThanOrEqual(55);
    expect(await count(`processed_events WHERE key = 'new.jpg'`)).toBe(1);
    expect(await count(`job_input_problems WHERE job_id = 'new-job'`)).toBe(5);
  });
});
