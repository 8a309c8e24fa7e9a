import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { MigrationError, migrate, migrationsDirectory, readMigrations } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTestEnvironment, testDatabaseUrl } from '../support/environment.js';

/** A copy of the real migrations the test may edit, and a database pointed at a schema that does not exist yet. */
async function scratch(label: string) {
  const environment = await createTestEnvironment(label);
  const schema = `${environment.schema}_m`;
  const db = createDatabase({ ...environment.config.database, schema });
  const folder = await mkdtemp(join(tmpdir(), 'clearcut-migrations-'));
  await cp(migrationsDirectory, folder, { recursive: true });
  const directory = pathToFileURL(`${folder}/`);
  return {
    db,
    schema,
    directory,
    folder,
    dispose: async () => {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
      await environment.dispose();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

describe('migrate', () => {
  let env: Awaited<ReturnType<typeof scratch>>;
  beforeAll(async () => {
    env = await scratch('migrate');
  });
  afterAll(async () => env.dispose());

  it('creates the schema, applies every file once, and is a no-op when re-run', async () => {
    const names = (await readMigrations(env.directory)).map((migration) => migration.name);
    expect(names.length).toBeGreaterThanOrEqual(5);
    expect(await migrate(env.db, { directory: env.directory })).toEqual({ applied: names });
    const tables = await env.db.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [env.schema],
    );
    expect(tables.map((table) => table.table_name)).toEqual(
      expect.arrayContaining(['migrations', 'tenants', 'api_keys', 'bucket_grants', 'audit_log']),
    );
    expect(await migrate(env.db, { directory: env.directory })).toEqual({ applied: [] });
  });

  it('refuses a changed file that was already applied, and applies nothing', async () => {
    const first = join(env.folder, '001_tenants.sql');
    const original = await readFile(first, 'utf8');
    await writeFile(join(env.folder, '900_later.sql'), 'CREATE TABLE later (id int);');
    await writeFile(first, `${original}\n-- edited\n`);
    try {
      const error = await migrate(env.db, { directory: env.directory }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toContain('"001_tenants.sql" was changed after it was applied');
      const [later] = await env.db.query(`SELECT to_regclass('"${env.schema}".later') AS found`);
      expect(later).toEqual({ found: null });
    } finally {
      await writeFile(first, original);
      await rm(join(env.folder, '900_later.sql'));
    }
  });

  it('refuses an applied migration this code does not have', async () => {
    await env.db.query(
      `INSERT INTO "${env.schema}".migrations (name, checksum) VALUES ('950_future.sql', 'x')`,
    );
    try {
      await expect(migrate(env.db, { directory: env.directory })).rejects.toThrow(
        /"950_future.sql" applied, which this version of ClearCut does not have/,
      );
    } finally {
      await env.db.query(`DELETE FROM "${env.schema}".migrations WHERE name = '950_future.sql'`);
    }
  });

  it('refuses misnamed files and shared numbers', async () => {
    await writeFile(join(env.folder, '7_bad.sql'), 'SELECT 1;');
    await expect(readMigrations(env.directory)).rejects.toThrow(/"7_bad.sql" is misnamed/);
    await rm(join(env.folder, '7_bad.sql'));
    await writeFile(join(env.folder, '001_again.sql'), 'SELECT 1;');
    await expect(readMigrations(env.directory)).rejects.toThrow(/share number 001/);
    await rm(join(env.folder, '001_again.sql'));
  });

  it('rolls a failing file back whole and records nothing for it', async () => {
    await writeFile(
      join(env.folder, '901_broken.sql'),
      'CREATE TABLE half (id int);\nSELECT no_such_function();',
    );
    try {
      await expect(migrate(env.db, { directory: env.directory })).rejects.toThrow(/no_such_function/);
      const rows = await env.db.query(
        `SELECT to_regclass('"${env.schema}".half') AS half,
                (SELECT count(*)::int FROM "${env.schema}".migrations WHERE name = '901_broken.sql') AS recorded`,
      );
      expect(rows).toEqual([{ half: null, recorded: 0 }]);
    } finally {
      await rm(join(env.folder, '901_broken.sql'));
    }
  });
});

describe('migrate, two processes at once', () => {
  let env: Awaited<ReturnType<typeof scratch>>;
  let other: Database;
  beforeAll(async () => {
    env = await scratch('migrate_race');
    other = createDatabase({
      url: testDatabaseUrl,
      schema: env.schema,
      poolSize: 2,
      connectTimeoutMs: 10_000,
    });
  });
  afterAll(async () => {
    await other.close();
    await env.dispose();
  });

  it('both succeed on a fresh schema and each file is applied exactly once', async () => {
    const [a, b] = await Promise.all([
      migrate(env.db, { directory: env.directory }),
      migrate(other, { directory: env.directory }),
    ]);
    const all = (await readMigrations(env.directory)).map((migration) => migration.name);
    expect([...a.applied, ...b.applied].sort()).toEqual(all);
    const ledger = await env.db.query<{ name: string }>(
      `SELECT name FROM "${env.schema}".migrations ORDER BY name`,
    );
    expect(ledger.map((row) => row.name)).toEqual(all);
  });
});
