// The gateway process: `npm run gateway`. Everything it does is in src/gateway/.
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { runGatewayUntilSignal } from '../src/gateway/run.js';
import { createLogger } from '../src/log.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78); // EX_CONFIG, as the CLI
}
const log = createLogger(config.log.level, { role: 'gateway' });
try {
  process.exitCode = await runGatewayUntilSignal(config, log);
} catch (error) {
  log.fatal({ err: error }, 'gateway failed to start');
  process.exitCode = 1;
}
