import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { startService } from '../ops/service-start.js';
import { parseCommandArgs } from './args.js';
import type { Command } from './io.js';

/** A command that runs a long-lived service (gateway, worker, events) until it is signalled. */
export function serviceCommand(
  name: string,
  help: string,
  run: (config: Config, log: Logger) => Promise<number>,
): Command {
  return async (args, io) => {
    const { values } = parseCommandArgs(
      name,
      args,
      { help: { type: 'boolean', short: 'h' } },
      { positionals: false },
    );
    if (values.help) {
      io.out(help);
      return 0;
    }
    const { config, log } = startService(io.env, name);
    return run(config, log);
  };
}
