import { main } from '../../src/cli/main.js';
import type { Environment } from '../../src/config.js';

export interface CliRun {
  readonly status: number;
  readonly out: string;
  readonly err: string;
}

/** `clearcut ...argv` in this process through the CLI's own main(), with captured output. */
export async function runCli(env: Environment, ...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(argv, {
    env,
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    interactive: false,
  });
  return { status, out: out.join('\n'), err: err.join('\n') };
}
