import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';

// A connection the server ends in the middle of a transaction (PostgreSQL restarting, an admin's
// pg_terminate_backend) while the transaction's code awaits something else: the transaction fails,
// the error is reported, and the process sees no uncaught 'error' event (vitest fails a run that
// has one). The pool's own listener covers only idle connections.

let environment: TestEnvironment;
let db: Database;
const reported: Error[] = [];

beforeAll(async () => {
  environment = await createTestEnvironment('connection lost');
  db = createDatabase(environment.config.database, (error) => reported.push(error));
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

it('fails a transaction whose connection the server ends between two of its queries', async () => {
  const outcome = db.transaction(async (tx) => {
    const [{ pid }] = (await tx.query('SELECT pg_backend_pid() AS pid')) as [{ pid: number }];
    // From another connection, while this transaction is between queries.
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    await until(() => reported.length > 0, { what: 'the lost connection to be reported' });
    return tx.query('SELECT 1');
  });
  await expect(outcome).rejects.toThrow();
  // Which the client reads first depends on timing: the server's FATAL or the socket's end.
  expect(reported.map((error) => error.message)).toContainEqual(
    expect.stringMatching(
      /^(Connection terminated unexpectedly|terminating connection due to administrator command)$/,
    ),
  );
  // The pool goes on with a new connection.
  expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
});
