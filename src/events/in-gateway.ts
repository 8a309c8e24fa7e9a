import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startEventService } from './service.js';

/**
 * Runs `run` (the gateway until its signal) with the S3 event consumer beside it in the same
 * process, unless CLEARCUT_GATEWAY_EVENTS=false. The gateway's own dispatcher and relay publish
 * what the consumer admits; the consumer's metrics go to `registry`, the gateway process's.
 */
export async function runWithEventConsumer(
  config: Config,
  log: Logger,
  registry: Registry,
  run: () => Promise<number>,
): Promise<number> {
  if (!config.gateway.events) return run();
  const events = await startEventService(config, {
    log: log.child({ component: 'events' }),
    dispatch: false,
    ops: { registry },
  });
  try {
    return await run();
  } finally {
    await events.stop();
  }
}
