import type { Queryable } from './database.js';
import { configuredSchema, migrationsDirectory, readMigrations } from './migrate.js';

/** The database lacks migrations this build needs; the process must not start. */
export class SchemaNotCurrentError extends Error {
  readonly code = 'schema_not_current';
  constructor(message: string) {
    super(message);
    this.name = 'SchemaNotCurrentError';
  }
}

const numberOf = (name: string) => name.slice(0, 3);

/**
 * Refuses to start on a schema that misses a migration file of this build, naming where the schema
 * is and what to run. A schema AHEAD of the build is accepted: during a rolling upgrade the old
 * processes keep running against the migrated schema (migrations only add).
 */
export async function requireSchemaCurrent(
  db: Queryable,
  directory: URL = migrationsDirectory,
): Promise<void> {
  const migrations = await readMigrations(directory);
  const schema = await configuredSchema(db);
  const [ledger] = await db.query<{ exists: boolean }>(
    `SELECT to_regclass(format('%I.migrations', $1::text)) IS NOT NULL AS exists`,
    [schema],
  );
  const applied = ledger?.exists
    ? new Set(
        (await db.query<{ name: string }>(`SELECT name FROM "${schema}".migrations`)).map((r) => r.name),
      )
    : new Set<string>();
  const missing = migrations.filter((migration) => !applied.has(migration.name));
  if (missing.length === 0) return;
  const needs = numberOf(migrations.at(-1)!.name);
  const at = [...applied].sort().at(-1);
  const where =
    at === undefined
      ? `schema ${schema} has no migrations applied`
      : `schema ${schema} is at migration ${numberOf(at)}`;
  const gaps =
    at !== undefined && missing.some((m) => m.name < at)
      ? ` (missing ${missing.map((m) => m.name).join(', ')})`
      : '';
  throw new SchemaNotCurrentError(`${where}, this build needs ${needs}${gaps}: run \`clearcut migrate\``);
}
