// The parts every long-running process (gateway, worker, `clearcut events`) wires the same way.
import type { Config } from '../config.js';
import { type Database, databaseAnswers } from '../db/database.js';
import { createDatabase } from '../db/postgres.js';
import type { Logger } from '../log.js';
import { type AmqpBus, connectAmqpBus } from '../queue/amqp-bus.js';
import type { Declarations } from '../queue/topology.js';
import type { ReadinessChecks } from './http-server.js';

export interface Cleanups {
  add(close: () => Promise<unknown>): void;
  /** Closes everything added, last added first; one that fails does not stop the others. */
  run(): Promise<void>;
}

/** Shutdown steps; one that fails is logged (an unclosed connection is worth knowing) and the rest run. */
export function createCleanups(log: Logger, ...initial: (() => Promise<unknown>)[]): Cleanups {
  const closes = [...initial];
  return {
    add: (close) => closes.push(close),
    async run() {
      for (const close of closes.splice(0).reverse()) {
        await close().catch((error: unknown) =>
          log.error({ err: error }, 'a shutdown step failed; running the remaining ones'),
        );
      }
    },
  };
}

/** The process's pool; idle connections that fail (a database restart) are logged, not thrown. */
export function openServiceDatabase(config: Config['database'], log: Logger): Database {
  return createDatabase(config, (error) => log.warn({ err: error }, 'idle database connection failed'));
}

/** A broker connection that declares `topology` and rides out broker restarts (docs/operations.md). */
export function connectServiceBus(
  config: Config['broker'],
  connectionName: string,
  topology: Declarations,
  log: Logger,
): Promise<AmqpBus> {
  return connectAmqpBus(config.url, {
    connectionName,
    topology,
    reconnect: { backoff: config.reconnect, log },
  });
}

/** What /readyz checks in every process: the broker connected, the database answering. */
export function dependencyChecks(bus: AmqpBus, db: Database): ReadinessChecks {
  return {
    broker: () => bus.connected,
    database: () => databaseAnswers(db),
  };
}
