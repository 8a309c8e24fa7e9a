import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startEventService } from './service.js';

/**
 * Runs the S3 event consumer alone (with its own task dispatcher and result relay) until SIGTERM or
 * SIGINT (drain, exit 0), riding out broker and database restarts (unacked events are redelivered
 * and deduplicated). Serves /healthz, /readyz and /metrics on CLEARCUT_EVENTS_HTTP_PORT.
 */
export function runEventsUntilSignal(config: Config, log: Logger): Promise<number> {
  return runUntilSignal(log, () =>
    startEventService(config, { log, dispatch: true, ops: { port: config.gateway.eventsHttpPort } }),
  );
}
