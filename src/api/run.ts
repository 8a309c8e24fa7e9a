import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startApi } from './service.js';

/** The API process: serves until SIGTERM/SIGINT, then finishes the requests in progress and exits 0. */
export function runApiUntilSignal(config: Config, log: Logger): Promise<number> {
  return runUntilSignal(log, () => startApi(config, { log }));
}
