import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

export interface MigratedDatabase {
  readonly environment: TestEnvironment;
  readonly db: Database;
  /** A fresh tenant on `tier` with a unique id. */
  readonly tenant: (tier?: string) => Promise<string>;
  readonly dispose: () => Promise<void>;
}

/** A test schema with every migration applied. */
export async function migratedDatabase(label: string): Promise<MigratedDatabase> {
  const environment = await createTestEnvironment(label);
  const db = createDatabase(environment.config.database);
  await migrate(db);
  let tenants = 0;
  return {
    environment,
    db,
    tenant: async (tier = 'free') => (await createTenant(db, `tenant-${++tenants}`, tier)).id,
    dispose: async () => {
      await db.close();
      await environment.dispose();
    },
  };
}
