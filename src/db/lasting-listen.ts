import type { Database } from './database.js';

// A LISTEN that outlives its connection: when the connection is lost (PostgreSQL restarting) it
// subscribes again, after 250 ms and then twice as long each time up to 5 s, until stopped.
// Notices sent while it was not listening are lost: a listener must still poll or re-read.

export interface LastingListenHooks {
  /** Each time the listen is in place, the first time included. */
  readonly onSubscribed?: () => void;
  /** Each time the connection was lost (notices may go unheard until the next onSubscribed). */
  readonly onLost?: () => void;
}

export interface LastingListen {
  stop(): Promise<void>;
}

export async function listenLasting(
  db: Pick<Database, 'listen'>,
  channel: string,
  onNotify: (payload: string) => void,
  { onSubscribed, onLost }: LastingListenHooks = {},
): Promise<LastingListen> {
  let unlisten: (() => Promise<void>) | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;
  const subscribe = async () => {
    const made = await db.listen(channel, onNotify, () => {
      unlisten = undefined;
      onLost?.();
      subscribeLater(250);
    });
    // stopped while connecting: this connection is the last one, not a new start
    if (stopped) return made();
    unlisten = made;
    onSubscribed?.();
  };
  // One attempt at a time: a second chain of retries would double the connections PostgreSQL sees
  // with every failure while it is restarting or full.
  const subscribeLater = (delayMs: number) => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      subscribe().catch(() => subscribeLater(Math.min(delayMs * 2, 5000)));
    }, delayMs);
  };
  await subscribe();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await unlisten?.();
    },
  };
}
