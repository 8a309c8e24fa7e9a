import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Config, type Environment, loadConfig } from '../../src/config.js';

/** The database tests use; each test file works in a schema of its own inside it. */
export const testDatabaseUrl =
  process.env.CLEARCUT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const testAmqpUrl = process.env.CLEARCUT_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface TestEnvironment {
  /** Environment variables pointing at this test's own schema and broker names. */
  readonly env: Environment;
  readonly config: Config;
  readonly schema: string;
  readonly amqpPrefix: string;
  /** Drops the schema; broker resources are the owner's to delete. */
  readonly dispose: () => Promise<void>;
}

/**
 * A fresh PostgreSQL schema and AMQP name prefix, named after the test so leftovers are easy to trace.
 * Set CLEARCUT_TEST_KEEP=1 to keep the schema of a failed run for inspection.
 */
export async function createTestEnvironment(
  label: string,
  extra: Environment = {},
): Promise<TestEnvironment> {
  const suffix = randomBytes(4).toString('hex');
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  const schema = `t_${slug}_${suffix}`;
  const amqpPrefix = `t_${slug}_${suffix}`;
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA "${schema}"`);
  } finally {
    await client.end();
  }
  const env: Environment = {
    CLEARCUT_DATABASE_URL: testDatabaseUrl,
    CLEARCUT_DATABASE_SCHEMA: schema,
    CLEARCUT_AMQP_URL: testAmqpUrl,
    CLEARCUT_AMQP_PREFIX: amqpPrefix,
    CLEARCUT_LOG_LEVEL: 'silent',
    CLEARCUT_HTTP_PORT: '0',
    CLEARCUT_EVENTS_HTTP_PORT: '0',
    CLEARCUT_MASTER_KEY: randomBytes(32).toString('base64'),
    // What tests' jobs name; only the synthetic stand-ins exist here.
    CLEARCUT_MODELS: 'u2net,u2netp',
    CLEARCUT_ALLOW_SYNTHETIC_MODELS: 'true',
    ...extra,
  };
  return {
    env,
    config: loadConfig(env),
    schema,
    amqpPrefix,
    dispose: async () => {
      if (process.env.CLEARCUT_TEST_KEEP === '1') return;
      const dropper = new pg.Client({ connectionString: testDatabaseUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await dropper.end();
      }
    },
  };
}
