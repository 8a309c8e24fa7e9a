import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startGateway } from './gateway.js';

/**
 * Runs the gateway until SIGTERM or SIGINT (drain, exit code 0) or until the broker connection is
 * lost (exit code 1, so a supervisor restarts it: unacked messages are redelivered, nothing is lost).
 */
export async function runGatewayUntilSignal(config: Config, log: Logger): Promise<number> {
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const gateway = await startGateway(config, {
    log,
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
  await gateway.stop();
  return code;
}
