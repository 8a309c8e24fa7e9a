import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startEventService } from './service.js';

/**
 * Runs the S3 event consumer alone (with its own task dispatcher and result relay) until SIGTERM or
 * SIGINT (drain, exit 0) or until its broker connection is lost (exit 1: unacked events are
 * redelivered and deduplicated).
 */
export function runEventsUntilSignal(config: Config, log: Logger): Promise<number> {
  return runUntilSignal(log, (onFatal) => startEventService(config, { log, dispatch: true, onFatal }));
}
