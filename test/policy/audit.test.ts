import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/audit/audit.js';
import { type MigratedDatabase, migratedDatabase } from './migrated-database.js';

describe('audit log', () => {
  let store: MigratedDatabase;
  beforeAll(async () => {
    store = await migratedDatabase('audit');
  });
  afterAll(async () => store.dispose());

  it('writes a batch in one call and lists it per tenant, since a time, oldest first', async () => {
    const hourAgo = new Date(Date.now() - 3_600_000);
    const dayAgo = new Date(Date.now() - 86_400_000);
    await recordAudit(store.db, [
      {
        at: dayAgo,
        tenantId: 'acme',
        keyId: 'ck_live_a',
        messageId: 'job-1',
        source: 'job',
        outcome: 'accepted',
      },
      {
        at: hourAgo,
        tenantId: 'acme',
        messageId: 'job-2',
        source: 'job',
        outcome: 'rejected',
        reason: 'rate_limited',
        detail: 'retry after 6 s',
      },
      { tenantId: 'other', source: 'event', outcome: 'accepted' },
      { source: 'job', outcome: 'rejected', reason: 'unknown_key', keyId: 'ck_live_zzz' },
    ]);
    await recordAudit(store.db, []);

    const acme = await listAudit(store.db, { tenantId: 'acme' });
    expect(acme.map((row) => row.messageId)).toEqual(['job-1', 'job-2']);
    expect(acme[1]).toMatchObject({
      tenantId: 'acme',
      keyId: null,
      source: 'job',
      outcome: 'rejected',
      reason: 'rate_limited',
      detail: 'retry after 6 s',
      at: hourAgo,
    });
    const recent = await listAudit(store.db, { since: new Date(Date.now() - 2 * 3_600_000) });
    expect(recent.map((row) => row.outcome)).toEqual(['rejected', 'accepted', 'rejected']);
    expect((await listAudit(store.db, { limit: 1 })).map((row) => row.reason)).toEqual(['unknown_key']);
    expect(await listAudit(store.db, { tenantId: 'nobody' })).toEqual([]);
  });

  it('refuses an unknown source', async () => {
    await expect(recordAudit(store.db, [{ source: 'cron' as 'job', outcome: 'x' }])).rejects.toThrow(
      /audit_log_source_check/,
    );
  });
});
