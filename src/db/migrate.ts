import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { Database, Queryable } from './database.js';

// Forward-only numbered migrations (src/db/migrations/NNN_name.sql), each applied in its own
// transaction and recorded in a ledger with its checksum. Every step holds a transaction-scoped
// advisory lock on the schema, so processes migrating at once take turns and each file runs once.

export const migrationsDirectory = new URL('./migrations/', import.meta.url);
const fileNamePattern = /^(\d{3})_[a-z0-9_]+\.sql$/;

export interface Migration {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrateOptions {
  readonly log?: Logger;
  /** Defaults to src/db/migrations. */
  readonly directory?: URL;
}

/** The migration set is wrong or does not match what the database has applied; nothing was changed. */
export class MigrationError extends Error {
  readonly code = 'migration_refused';
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * Applies every pending migration to the schema the connection's search_path names first
 * (the adapter sets it from CLEARCUT_DATABASE_SCHEMA), creating the schema if missing.
 * Returns the names applied by this call (empty when the database was up to date).
 */
export async function migrate(
  db: Database,
  { log, directory = migrationsDirectory }: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const migrations = await readMigrations(directory);
  const schema = await configuredSchema(db);
  const ledger = `"${schema}".migrations`;
  const lock = (tx: Queryable) =>
    tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`clearcut:${schema}`]);

  await db.transaction(async (tx) => {
    // Must come first: CREATE SCHEMA/TABLE IF NOT EXISTS race each other when run concurrently.
    await lock(tx);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${ledger} (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const recorded = await tx.query<{ name: string; checksum: string }>(
      `SELECT name, checksum FROM ${ledger}`,
    );
    checkLedger(migrations, recorded);
  });

  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await db.transaction(async (tx) => {
      await lock(tx);
      const [done] = await tx.query(`SELECT 1 FROM ${ledger} WHERE name = $1`, [migration.name]);
      if (done !== undefined) return false;
      await tx.query(`SET LOCAL search_path TO "${schema}", public`);
      await tx.query(migration.sql);
      await tx.query(`INSERT INTO ${ledger} (name, checksum) VALUES ($1, $2)`, [
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (ran) {
      applied.push(migration.name);
      log?.info({ migration: migration.name, schema }, 'applied migration');
    }
  }
  return { applied };
}

export async function readMigrations(directory: URL = migrationsDirectory): Promise<Migration[]> {
  const names = (await readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  const migrations: Migration[] = [];
  for (const name of names) {
    const number = fileNamePattern.exec(name)?.[1];
    if (number === undefined) {
      throw new MigrationError(`migration file "${name}" is misnamed: expected NNN_lowercase_name.sql`);
    }
    const clash = seen.get(number);
    if (clash !== undefined)
      throw new MigrationError(`migrations "${clash}" and "${name}" share number ${number}`);
    seen.set(number, name);
    // Line endings normalised: a checkout that converts them must not look like an edited file.
    const sql = (await readFile(new URL(name, directory), 'utf8')).replace(/\r\n/g, '\n');
    migrations.push({ name, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/** Refuses edited applied files and applied files this code does not have: both mean diverged schemas. */
function checkLedger(
  migrations: readonly Migration[],
  recorded: readonly { name: string; checksum: string }[],
) {
  const byName = new Map(migrations.map((migration) => [migration.name, migration]));
  for (const { name, checksum } of recorded) {
    const migration = byName.get(name);
    if (migration === undefined) {
      throw new MigrationError(
        `the database has migration "${name}" applied, which this version of ClearCut does not have: run a version that includes it`,
      );
    }
    if (migration.checksum !== checksum) {
      throw new MigrationError(
        `migration "${name}" was changed after it was applied (checksum ${checksum.slice(0, 12)}… in the database, ${migration.checksum.slice(0, 12)}… on disk): migrations are forward-only, restore the file and add a new migration instead`,
      );
    }
  }
}

export async function configuredSchema(db: Queryable): Promise<string> {
  const [row] = await db.query<{ path: string }>(`SELECT current_setting('search_path') AS path`);
  const first = row?.path
    .split(',')[0]
    ?.trim()
    .replace(/^"(.*)"$/, '$1');
  if (first === undefined || !/^[a-z][a-z0-9_]{0,62}$/.test(first)) {
    throw new MigrationError(
      `cannot tell which schema to migrate: search_path is "${row?.path}" (the database adapter sets it from CLEARCUT_DATABASE_SCHEMA)`,
    );
  }
  return first;
}
