import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEventService } from './service.js';

/**
 * Runs the S3 event consumer alone (with its own task dispatcher and result relay) until SIGTERM or
 * SIGINT (drain, exit 0) or until its broker connection is lost (exit 1, so a supervisor restarts
 * it: unacked events are redelivered and deduplicated).
 */
export async function runEventsUntilSignal(config: Config, log: Logger): Promise<number> {
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const service = await startEventService(config, {
    log,
    dispatch: true,
    onFatal: (error) => {
      log.error({ err: error }, 'broker connection lost; stopping');
      finish(1);
    },
  });
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'draining');
    finish(0);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const code = await finished;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await service.stop();
  return code;
}
