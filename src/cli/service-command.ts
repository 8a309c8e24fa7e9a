import { unknownVariableWarnings } from '../config/unknown-variables.js';
import { type Config, configVariables, loadConfig } from '../config.js';
import { createLogger, type Logger } from '../log.js';
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
    const config = loadConfig(io.env);
    const log = createLogger(config.log.level, { role: name });
    const known = configVariables().map((variable) => variable.name);
    for (const warning of unknownVariableWarnings(io.env, known)) log.warn(warning);
    return run(config, log);
  };
}
