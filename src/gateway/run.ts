import type { Config } from '../config.js';
import { runWithEventConsumer } from '../events/in-gateway.js';
import type { Logger } from '../log.js';
import { runUntilSignal } from '../ops/run-until-signal.js';
import { startGateway } from './gateway.js';

/**
 * The gateway process: the gateway until SIGTERM/SIGINT (exit 0) or a lost broker connection
 * (exit 1), with the S3 event consumer beside it unless CLEARCUT_GATEWAY_EVENTS=false (docs/events.md).
 */
export function runGatewayUntilSignal(config: Config, log: Logger): Promise<number> {
  return runWithEventConsumer(config, log, () =>
    runUntilSignal(log, (onFatal) => startGateway(config, { log, onFatal })),
  );
}
