// Where the gateway process is assembled: the signed-job door and the S3-event door side by side.
// It lives above both doors (src/processes/), since doors never import each other.
import type { Config } from '../config.js';
import { runWithEventConsumer } from '../events/in-gateway.js';
import { startGateway } from '../gateway/gateway.js';
import type { Logger } from '../log.js';
import { createMetricsRegistry } from '../ops/metrics.js';
import { runUntilSignal } from '../ops/run-until-signal.js';

/**
 * The gateway process: the gateway until SIGTERM/SIGINT (drain, exit 0), riding out broker and
 * database restarts, with the S3 event consumer beside it unless CLEARCUT_GATEWAY_EVENTS=false
 * (docs/events.md).
 */
export function runGatewayUntilSignal(config: Config, log: Logger): Promise<number> {
  // One registry for the process: the gateway serves the event consumer's metrics too.
  const registry = createMetricsRegistry('gateway');
  return runWithEventConsumer(config, log, registry, () =>
    runUntilSignal(log, () => startGateway(config, { log, registry })),
  );
}
