import type { Logger } from '../log.js';

export interface PollLoopOptions {
  readonly name: string;
  /** Does one round of work and says how much it did; 0 means idle. */
  readonly step: () => Promise<number>;
  /** Wait between rounds while idle (a nudge cuts it short). */
  readonly idleMs: number;
  /** Longest wait after consecutive failures (backoff doubles up to this). */
  readonly maxBackoffMs?: number;
  readonly log: Logger;
}

export interface PollLoop {
  start(): void;
  /** There may be work now: run a round without waiting for the idle timer. */
  nudge(): void;
  /** Finishes the current round, then stops; repeated calls return the same promise. */
  stop(): Promise<void>;
}

/** Runs `step` back to back while it finds work, sleeps while idle, backs off on errors. */
export function createPollLoop(options: PollLoopOptions): PollLoop {
  let running = false;
  let stopping: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let nudged = false;
  let done: Promise<void> = Promise.resolve();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (nudged || !running) {
        nudged = false;
        resolve();
        return;
      }
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        wake = undefined;
        nudged = false;
        resolve();
      }
      wake = finish;
    });

  async function loop() {
    let failures = 0;
    while (running) {
      try {
        const worked = await options.step();
        failures = 0;
        if (worked === 0) await sleep(options.idleMs);
      } catch (error) {
        failures += 1;
        const backoff = Math.min(options.idleMs * 2 ** failures, options.maxBackoffMs ?? 5_000);
        options.log.warn({ err: error, loop: options.name, failures }, `${options.name} round failed`);
        await sleep(backoff);
      }
    }
  }

  return {
    start() {
      if (running || stopping) return;
      running = true;
      done = loop();
    },
    nudge() {
      nudged = true;
      wake?.();
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        wake?.();
        await done;
      })();
      return stopping;
    },
  };
}
