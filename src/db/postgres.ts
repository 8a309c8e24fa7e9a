import pg from 'pg';
import type { Config } from '../config.js';
import type { Database, Queryable } from './database.js';

/**
 * A pg pool whose connections all use the configured schema. NOTIFY channels are prefixed with the
 * schema so several stacks (or test files) sharing one database never hear each other.
 */
export function createDatabase(
  config: Config['database'],
  onError: (error: Error) => void = () => {},
): Database {
  // search_path as a startup option: set before the first query, on every connection the pool opens.
  const options = `-c search_path="${config.schema}",public`;
  // keepAlive: a connection whose peer vanished without a word (a NAT's dropped entry) fails
  // instead of waiting for ever. No connect timeout on the pool: pg-pool would apply it to a
  // query's wait for a free connection too, and fail queries of a busy process.
  const connection = { connectionString: config.url, keepAlive: true };
  const pool = new pg.Pool({ ...connection, max: config.poolSize, options });
  // Idle clients can fail when the server restarts; the pool drops them, we only report it.
  pool.on('error', onError);
  const scoped = (channel: string) => `${config.schema}.${channel}`;

  const query: Queryable['query'] = async (text, values) =>
    (await pool.query(text, values as unknown[] | undefined)).rows;

  return {
    query,
    async transaction(work) {
      const client = await pool.connect();
      // The pool listens for errors of idle clients only: a connection the server ends while this
      // one is checked out (a restart mid-transaction) would be an uncaught 'error' event. Its
      // next query fails anyway; the broken client is released as such, so the pool drops it.
      let lost: Error | undefined;
      const onLost = (error: Error) => {
        lost = error;
        onError(error);
      };
      client.on('error', onLost);
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async (text, values) => (await client.query(text, values as unknown[] | undefined)).rows,
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.off('error', onLost);
        client.release(lost);
      }
    },
    async listen(channel, onNotify, onLost) {
      // A connect the server never answers is given up, so the caller's retry is not held for ever.
      const client = new pg.Client({
        ...connection,
        connectionTimeoutMillis: config.connectTimeoutMs,
        query_timeout: config.connectTimeoutMs,
      });
      // Loss is reported only for a subscription that was made: a connect or LISTEN that fails
      // rejects instead, once, so a caller retrying on rejection never also retries on loss.
      let subscribed = false;
      let closing = false;
      const lost = (error?: Error) => {
        if (closing || !subscribed) return;
        closing = true;
        if (error) onError(error);
        onLost?.(error ?? new Error(`LISTEN connection for ${channel} ended`));
      };
      client.on('error', lost);
      client.on('end', () => lost());
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === scoped(channel)) onNotify(message.payload ?? '');
        });
        await client.query(`LISTEN "${scoped(channel)}"`);
      } catch (error) {
        closing = true;
        await client.end().catch(() => {});
        throw error;
      }
      subscribed = true;
      return async () => {
        closing = true;
        await client.end();
      };
    },
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [scoped(channel), payload]);
    },
    close: () => pool.end(),
  };
}
