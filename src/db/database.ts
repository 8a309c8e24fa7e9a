// The whole database contract core logic sees. Only src/db/postgres.ts imports pg.

export type Row = Record<string, unknown>;

export interface Queryable {
  query<R extends object = Row>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction on one connection; commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Subscribes to NOTIFY on `channel` (schema-scoped by the adapter); resolves to an unsubscribe
   * function. `onLost` fires once if the listening connection drops (server restart): notifications
   * may have been missed, so the caller should distrust its caches and subscribe again.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost?: (error: Error) => void,
  ): Promise<() => Promise<void>>;
  /** Sends NOTIFY on `channel` (schema-scoped by the adapter). */
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** Whether the database answers a trivial query: what /readyz asks of it in every process. */
export async function databaseAnswers(db: Queryable): Promise<boolean> {
  return (await db.query('SELECT 1')).length === 1;
}
