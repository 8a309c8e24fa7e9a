// The least a gateway must keep durably per job, for bench/support/floor-consumer.ts: a nonce
// (unique per key), the job (unique per tenant), its task and its result event in an outbox, in a
// schema of the bench's own. Admitting a batch is one statement (so one transaction and one round
// trip); after the broker confirmed, one more marks the tasks published and deletes the events.
import type { Queryable } from '../../src/db/database.js';

export type FloorRung = 'broker' | 'rows' | 'js';
export const floorRungs: readonly FloorRung[] = ['broker', 'rows', 'js'];

/** Environment the bench hands the floor consumer. */
export const floorRungVariable = 'BENCH_FLOOR_RUNG';
export const floorSchemaVariable = 'BENCH_FLOOR_SCHEMA';
export const floorReadyLine = 'floor consumer consuming';

export const floorStatements = {
  /** $1 key id, $2 nonces, $3 timestamps (s), $4 tenant, $5 window (s), $6 job ids, $7 bodies, $8/$9 events. */
  admit: `WITH nonces AS (
      INSERT INTO nonces (key_id, nonce, expires_at)
      SELECT $1, nonce, to_timestamp(signed_at + $5) FROM unnest($2::text[], $3::float8[]) AS u(nonce, signed_at)
    ), jobs AS (
      INSERT INTO jobs (tenant_id, job_id, spec) SELECT $4, job_id, spec FROM unnest($6::text[], $7::text[]) AS u(job_id, spec)
    ), tasks AS (
      INSERT INTO tasks (tenant_id, job_id, item) SELECT $4, job_id, 0 FROM unnest($6::text[]) AS u(job_id) RETURNING id
    ), events AS (
      INSERT INTO outbox (routing_key, body) SELECT routing_key, body FROM unnest($8::text[], $9::text[]) AS u(routing_key, body) RETURNING id
    )
    SELECT (SELECT array_agg(id) FROM tasks) AS tasks, (SELECT array_agg(id) FROM events) AS events`,
  /** $1 task ids, $2 outbox ids. */
  published: `WITH sent AS (DELETE FROM outbox WHERE id = ANY($2::bigint[]))
    UPDATE tasks SET published_at = now() WHERE id = ANY($1::bigint[])`,
};

export async function createFloorSchema(db: Queryable, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await db.query(`CREATE SCHEMA ${s}`);
  await db.query(`CREATE TABLE ${s}.nonces (key_id text, nonce text, expires_at timestamptz NOT NULL,
    PRIMARY KEY (key_id, nonce))`);
  await db.query(`CREATE TABLE ${s}.jobs (tenant_id text, job_id text, spec text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (tenant_id, job_id))`);
  await db.query(`CREATE TABLE ${s}.tasks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id text NOT NULL, job_id text NOT NULL, item integer NOT NULL, published_at timestamptz)`);
  await db.query(`CREATE TABLE ${s}.outbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    routing_key text NOT NULL, body text NOT NULL)`);
}

export async function dropFloorSchema(db: Queryable, schema: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
