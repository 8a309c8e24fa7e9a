import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { migrate, migrationsDirectory } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { requireSchemaCurrent, SchemaNotCurrentError } from '../../src/db/schema-check.js';
import { startEventService } from '../../src/events/service.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/log.js';
import { startWorker } from '../../src/worker/worker.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// Every service refuses to start on a schema that lacks a migration of its build, saying where the
// schema is and what to run; a schema ahead of the build (a rolling upgrade) is accepted.

let environment: TestEnvironment;
let db: Database;
let older: URL;
let folder: string;
const files = (await readdir(migrationsDirectory)).filter((name) => name.endsWith('.sql')).sort();
const newest = files.at(-1)!.slice(0, 3);

beforeAll(async () => {
  environment = await createTestEnvironment('schema-check');
  db = createDatabase(environment.config.database);
  // The migrations of an older build: all but the newest file.
  folder = await mkdtemp(join(tmpdir(), 'clearcut-older-'));
  await cp(migrationsDirectory, folder, { recursive: true, filter: (path) => !path.endsWith(files.at(-1)!) });
  older = pathToFileURL(`${folder}/`);
});
afterAll(async () => {
  await db?.close();
  await environment?.dispose();
  await rm(folder, { recursive: true, force: true });
});

const schema = () => environment.config.database.schema;
const log = createLogger('error');

describe('requireSchemaCurrent', () => {
  it('refuses a schema nothing was applied to', async () => {
    await expect(requireSchemaCurrent(db)).rejects.toThrow(
      `schema ${schema()} has no migrations applied, this build needs ${newest}: run \`clearcut migrate\``,
    );
  });

  it('refuses a schema an older build migrated, naming where it is; every service refuses to start', async () => {
    await migrate(db, { directory: older });
    const previous = files.at(-2)!.slice(0, 3);
    const message = `schema ${schema()} is at migration ${previous}, this build needs ${newest}: run \`clearcut migrate\``;
    await expect(requireSchemaCurrent(db)).rejects.toThrow(new SchemaNotCurrentError(message));
    const config = loadConfig({
      ...environment.env,
      CLEARCUT_GATEWAY_HTTP_PORT: '0',
      CLEARCUT_EVENTS_HTTP_PORT: '0',
    });
    await expect(startGateway(config, { log })).rejects.toThrow(message);
    await expect(startEventService(config, { log, dispatch: true, ops: { port: 0 } })).rejects.toThrow(
      message,
    );
    await expect(
      startWorker(loadConfig({ ...environment.env, CLEARCUT_HTTP_PORT: '0' }), { log }),
    ).rejects.toThrow(message);
  });

  it('accepts the schema once migrated, and one ahead of the build', async () => {
    await migrate(db);
    await expect(requireSchemaCurrent(db)).resolves.toBeUndefined();
    await expect(requireSchemaCurrent(db, older)).resolves.toBeUndefined();
  });
});
