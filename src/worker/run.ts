import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startWorker } from './worker.js';

/**
 * The worker process: until SIGTERM/SIGINT (drain, exit code 0) or a lost broker connection (exit
 * code 1: a supervisor restarts it; unacked tasks are redelivered, nothing is lost).
 */
export function runWorkerUntilSignal(config: Config, log: Logger): Promise<number> {
  return runUntilSignal(log, (onFatal) => startWorker(config, { log, onFatal }));
}
