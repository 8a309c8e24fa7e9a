import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startWorker } from './worker.js';

/**
 * The worker process: until SIGTERM/SIGINT (drain, exit code 0), riding out broker and database
 * restarts (tasks it held when the connection dropped are redelivered and end exactly once).
 */
export function runWorkerUntilSignal(config: Config, log: Logger): Promise<number> {
  return runUntilSignal(log, () => startWorker(config, { log }));
}
