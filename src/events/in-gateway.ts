import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEventService } from './service.js';

/**
 * Runs `run` (the gateway until its signal) with the S3 event consumer beside it in the same
 * process, unless CLEARCUT_GATEWAY_EVENTS=false. The gateway's own dispatcher and relay publish
 * what the consumer admits. If the consumer loses its broker connection the process drains
 * (SIGTERM to itself) and exits 1, as the gateway does for its own connection.
 */
export async function runWithEventConsumer(
  config: Config,
  log: Logger,
  run: () => Promise<number>,
): Promise<number> {
  if (!config.gateway.events) return run();
  let lost = false;
  const events = await startEventService(config, {
    log: log.child({ component: 'events' }),
    dispatch: false,
    onFatal: (error) => {
      log.error({ err: error }, 'S3 event consumer lost its broker connection; stopping');
      lost = true;
      process.kill(process.pid, 'SIGTERM');
    },
  });
  try {
    const code = await run();
    return lost ? 1 : code;
  } finally {
    await events.stop();
  }
}
