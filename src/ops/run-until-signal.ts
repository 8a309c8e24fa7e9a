import type { Logger } from '../log.js';

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Runs a long-lived service until SIGTERM or SIGINT (drain, exit code 0) or until it reports a fatal
 * error such as a lost broker connection (exit code 1, so a supervisor restarts it: unacked messages
 * are redelivered, nothing is lost). The signal handlers are installed before the service starts, so
 * a SIGTERM that arrives during start-up still drains instead of killing the process.
 */
export async function runUntilSignal(
  log: Logger,
  start: (onFatal: (error: Error) => void) => Promise<Stoppable>,
): Promise<number> {
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'draining');
    finish(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const service = await start((error) => {
      log.error({ err: error }, 'broker connection lost; stopping');
      finish(1);
    });
    const code = await finished;
    await service.stop();
    return code;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
