import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { listenLasting } from '../../src/db/lasting-listen.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';
import { until } from '../support/until.js';

// A LISTEN whose connection the server ends (PostgreSQL restarting, an admin's
// pg_terminate_backend) says so, subscribes again by itself, and hears notices again after that.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('lasting listen');
  db = createDatabase(environment.config.database);
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

it('subscribes again after its connection is lost, and hears what is sent after that', async () => {
  const heard: string[] = [];
  const events: string[] = [];
  const channel = 'lasting_test';
  const listening = await listenLasting(db, channel, (payload) => heard.push(payload), {
    onSubscribed: () => events.push('subscribed'),
    onLost: () => events.push('lost'),
  });
  try {
    await db.notify(channel, 'one');
    await until(() => heard.includes('one'), { what: 'the first notice' });

    await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN "%${channel}"'`,
    );
    await until(() => events.length === 3, { what: 'the listen to be lost and made again' });
    expect(events).toEqual(['subscribed', 'lost', 'subscribed']);

    await db.notify(channel, 'two');
    await until(() => heard.includes('two'), { what: 'a notice after the new subscription' });
    expect(heard).toEqual(['one', 'two']);
  } finally {
    await listening.stop();
  }
});
