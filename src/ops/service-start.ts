import { type Config, ConfigError, type Environment, loadConfig, unknownVariables } from '../config.js';
import { createLogger, type Logger } from '../log.js';

/**
 * A long-lived process's configuration and logger, however it was started (`clearcut gateway` or
 * `node dist/workers/gateway.js`). CLEARCUT_* variables that configure nothing are warned of in
 * the start-up log, or, when the configuration is refused, listed with its problems: a typo in a
 * required variable then comes with the name it was meant to be.
 */
export function startService(env: Environment, role: string): { config: Config; log: Logger } {
  const warnings = unknownVariables(env);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError && warnings.length > 0)
      throw new ConfigError([...error.problems, ...warnings]);
    throw error;
  }
  const log = createLogger(config.log.level, { role });
  for (const warning of warnings) log.warn(warning);
  return { config, log };
}
