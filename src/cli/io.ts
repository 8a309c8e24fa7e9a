import type { Environment } from '../config.js';

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  readonly env: Environment;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** True when stderr is a terminal, so progress bars may redraw in place. */
  readonly interactive: boolean;
}

export type Command = (args: string[], io: CliIo) => Promise<number>;

export function processIo(): CliIo {
  return {
    env: process.env,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    interactive: process.stderr.isTTY === true,
  };
}
