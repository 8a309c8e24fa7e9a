import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { addTrigger, listTriggers } from '../../src/triggers/trigger-store.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// JSON columns come back through the contract they were written with: a row altered behind the
// code's back (by hand, by a faulty migration) is refused with a message naming it, instead of
// travelling on as a value of the wrong shape.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('stored json');
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'pro');
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

it('reads trigger renditions back through the rendition contract', async () => {
  const rule = await addTrigger(db, {
    tenantId: 'acme',
    bucket: 'photos',
    prefix: '',
    suffixes: [],
    output: { bucket: 'cutouts', prefix: 'out/' },
    renditions: [{ kind: 'mask' }],
  });
  expect((await listTriggers(db, { tenantId: 'acme' })).map((listed) => listed.renditions)).toEqual([
    rule.renditions,
  ]);

  await db.query(`UPDATE triggers SET renditions = '[{"kind":"hologram"}]' WHERE id = $1::bigint`, [rule.id]);
  await expect(listTriggers(db, { tenantId: 'acme' })).rejects.toThrow(
    new RegExp(`^triggers\\.renditions of rule ${rule.id} does not match its contract: 0`),
  );
});
