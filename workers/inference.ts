// The inference worker process: `npm run worker`. Everything it does is in src/worker/.
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { runWorkerUntilSignal } from '../src/worker/run.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78); // EX_CONFIG, as the CLI
}
const log = createLogger(config.log.level, { role: 'worker' });
try {
  process.exitCode = await runWorkerUntilSignal(config, log);
} catch (error) {
  log.fatal({ err: error }, 'worker failed to start');
  process.exitCode = 1;
}
