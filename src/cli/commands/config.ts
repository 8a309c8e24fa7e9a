import { configVariables, loadConfig, unknownVariables } from '../../config.js';
import { parseCommandArgs } from '../args.js';
import type { Command } from '../io.js';

/** Lists every variable with its current value (secrets masked), then validates the whole set. */
export const run: Command = async (args, io) => {
  const { values } = parseCommandArgs(
    'config',
    args,
    { help: { type: 'boolean', short: 'h' } },
    { positionals: false },
  );
  if (values.help) {
    io.out(
      'Usage: clearcut config\n\nPrints every CLEARCUT_* variable, its value or default, and validates them; warns of\nCLEARCUT_* variables set that configure nothing (a typo), naming the nearest real one.',
    );
    return 0;
  }
  for (const variable of configVariables()) {
    const raw = io.env[variable.name];
    const shown =
      raw === undefined || raw === ''
        ? `(default: ${variable.default ?? 'unset'})`
        : variable.secret
          ? '(set, hidden)'
          : raw;
    io.out(`${variable.name}=${shown}\n    ${variable.doc}`);
  }
  for (const warning of unknownVariables(io.env)) io.err(`warning: ${warning}`);
  loadConfig(io.env);
  io.out('\nconfiguration is valid');
  return 0;
};
