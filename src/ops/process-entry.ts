import { type Config, ConfigError } from '../config.js';
import type { Logger } from '../log.js';
import { silenceLibraryWarnings } from './library-warnings.js';
import { startService } from './service-start.js';

/**
 * The body of a `workers/*.ts` entry point: read the environment once, log as `role`, run until
 * the service returns its exit code. A bad configuration exits 78 (EX_CONFIG), as the CLI does.
 */
export async function runProcess(
  role: string,
  run: (config: Config, log: Logger) => Promise<number>,
): Promise<void> {
  silenceLibraryWarnings();
  let started: { config: Config; log: Logger };
  try {
    started = startService(process.env, role);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 78;
    return;
  }
  const { config, log } = started;
  try {
    process.exitCode = await run(config, log);
  } catch (error) {
    log.fatal({ err: error }, `${role} failed to start`);
    process.exitCode = 1;
  }
}
