import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepNonces } from '../../src/admission/nonces.js';
import { loadConfig } from '../../src/config.js';
import { type RetentionSweeperOptions, sweepOnce } from '../../src/retention/retention-sweeper.js';
import { type CatalogHarness, createCatalogHarness, silent } from '../catalog/support.js';

// Retention against the real PostgreSQL schema, with an injected clock: rows older than their
// retention go, in batches of at most batchSize per table per round; younger rows stay.

let h: CatalogHarness;
beforeAll(async () => {
  h = await createCatalogHarness('retention sweeper');
}, 60_000);
afterAll(async () => h?.dispose());

const dayMs = 86_400_000;
// Now, so the audit rows creating tenants writes (at the real time) are young.
const now = new Date();
const daysAgo = (days: number) => new Date(now.getTime() - days * dayMs);
const retention = loadConfig({
  CLEARCUT_RETENTION_AUDIT: '90d',
  CLEARCUT_RETENTION_PROCESSED_EVENTS: '30d',
  CLEARCUT_RETENTION_INPUT_PROBLEMS: '7d',
}).retention;

// Creating tenants writes audit rows of its own (at the real time): only this test's rows count.
async function count(table: string): Promise<number> {
  const mine = table === 'audit_log' ? ` WHERE message_id = 'retention-test'` : '';
  const [row] = await h.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}${mine}`);
  return row!.n;
}

async function auditRowsAt(ages: number[]) {
  await h.db.query(
    `INSERT INTO audit_log (at, message_id, source, outcome) SELECT a, 'retention-test', 'job', 'rejected' FROM unnest($1::timestamptz[]) a`,
    [ages.map(daysAgo)],
  );
}

async function processedEventsAt(ages: number[]) {
  await h.db.query(
    `INSERT INTO processed_events (bucket, key, etag, event_name, jobs, processed_at)
     SELECT 'b', 'k' || i, 'e', 's3:ObjectCreated:Put', ARRAY['t/j'], a FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(a, i)`,
    [ages.map(daysAgo)],
  );
}

/** A catalog job with `problems` skipped entries, finalised `finalizedDaysAgo` days ago (null: not yet). */
async function jobWithProblems(problems: number, finalizedDaysAgo: number | null) {
  const tenant = await h.tenant();
  const jobId = await h.job(tenant, { bucket: 'in-bucket', prefix: 'p/' });
  await h.db.query(
    `INSERT INTO job_input_problems (tenant_id, job_id, position, entry, code, message)
     SELECT $1, $2, g, 'x', 'invalid_line', 'x' FROM generate_series(1, $3::int) g`,
    [tenant, jobId, problems],
  );
  if (finalizedDaysAgo !== null) {
    await h.db.query(
      `UPDATE jobs SET state = 'completed', total = 0, completed_at = $3, finalized_at = $3 WHERE tenant_id = $1 AND id = $2`,
      [tenant, jobId, daysAgo(finalizedDaysAgo)],
    );
  }
  return { tenant, jobId };
}

describe('retention sweeps', () => {
  it('delete only rows past their retention, at most one batch per table per round', async () => {
    await auditRowsAt([200, 120, 91, 89, 1]);
    await processedEventsAt([45, 31, 29]);
    const old = await jobWithProblems(4, 8);
    const recent = await jobWithProblems(2, 6);
    const running = await jobWithProblems(3, null);
    const options: RetentionSweeperOptions = {
      db: h.db,
      log: silent,
      retention,
      batchSize: 2,
      now: () => now,
    };

    // Round one: 2 of 3 old audit rows, both old processed events, 2 of 4 old problems.
    expect(await sweepOnce(options)).toBe(6);
    expect([
      await count('audit_log'),
      await count('processed_events'),
      await count('job_input_problems'),
    ]).toEqual([3, 1, 7]);
    expect(await sweepOnce(options)).toBe(3);
    expect(await sweepOnce(options)).toBe(0);

    const audit = await h.db.query<{ at: Date }>(
      `SELECT at FROM audit_log WHERE message_id = 'retention-test' ORDER BY at`,
    );
    expect(audit.map((row) => row.at)).toEqual([daysAgo(89), daysAgo(1)]);
    expect(await count('processed_events')).toBe(1);
    const left = await h.db.query<{ job_id: string; n: number }>(
      'SELECT job_id, count(*)::int AS n FROM job_input_problems GROUP BY job_id ORDER BY n',
    );
    expect(left).toEqual([
      { job_id: recent.jobId, n: 2 },
      { job_id: running.jobId, n: 3 },
    ]);
    expect(left.some((row) => row.job_id === old.jobId)).toBe(false);

    // A year later everything finalised or recorded is past its retention; unfinalised jobs keep theirs.
    const later = { ...options, batchSize: 1000, now: () => new Date(now.getTime() + 365 * dayMs) };
    await sweepOnce(later);
    expect([
      await count('audit_log'),
      await count('processed_events'),
      await count('job_input_problems'),
    ]).toEqual([0, 0, 3]);
  });

  it('the nonce sweep (the gateway runs it next to these) deletes expired nonces in bounded batches', async () => {
    await h.db.query(
      `INSERT INTO nonces (key_id, nonce, message_id, expires_at)
       SELECT 'k', 'n' || g, 'm' || g, now() - interval '1 hour' FROM generate_series(1, 7) g`,
    );
    await h.db.query(
      `INSERT INTO nonces (key_id, nonce, message_id, expires_at) VALUES ('k', 'live', 'm', now() + interval '1 hour')`,
    );
    expect([await sweepNonces(h.db, 3), await sweepNonces(h.db, 3), await sweepNonces(h.db, 3)]).toEqual([
      3, 3, 1,
    ]);
    expect(await h.db.query('SELECT nonce FROM nonces')).toEqual([{ nonce: 'live' }]);
  });
});
