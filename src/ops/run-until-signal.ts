import type { Logger } from '../log.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a long-lived service until SIGTERM or SIGINT, then drains it (exit code 0). Lost broker
 * and database connections are the service's own business: it reconnects. The signal handlers are
 * installed before the service starts, so a SIGTERM that arrives during start-up still drains
 * instead of killing the process.
 */
export async function runUntilSignal(log: Logger, start: () => Promise<Stoppable>): Promise<number> {
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'draining');
    finish(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const service = await start();
    const code = await finished;
    await service.stop();
    return code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
