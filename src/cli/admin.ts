import { parseDuration } from '../config/parsers.js';
import { type Config, loadConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { createDatabase } from '../db/postgres.js';
import { errorMessage, UsageError } from '../errors.js';
import type { CliIo } from './io.js';

// What the admin commands (migrate, tenants, keys, grants, quota, audit) share: subcommand
// dispatch, a database for the length of one command, and plain-text tables.

export interface Subcommand {
  /** Usage line(s) and option list, printed by `--help` and on usage errors. */
  readonly help: string;
  readonly run: (args: string[], io: CliIo) => Promise<number>;
}

/** `clearcut <command> <subcommand> ...`; `--help` at either level prints the relevant usage. */
export async function runSubcommand(
  command: string,
  summary: string,
  subcommands: Record<string, Subcommand>,
  args: string[],
  io: CliIo,
): Promise<number> {
  const [name, ...rest] = args;
  const overview = [summary, ...Object.values(subcommands).map((subcommand) => subcommand.help)].join('\n\n');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(overview);
    return name === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(subcommands, name)) {
    throw new UsageError(
      `clearcut ${command}: unknown subcommand "${name}": expected one of ${Object.keys(subcommands).join(', ')} (see \`clearcut ${command} --help\`)`,
    );
  }
  const subcommand = subcommands[name]!;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(subcommand.help);
    return 0;
  }
  return subcommand.run(rest, io);
}

/** Opens the configured database for one command and closes it, whatever happens. */
export async function withDatabase<T>(
  io: CliIo,
  work: (db: Database, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig(io.env);
  const db = createDatabase(config.database);
  try {
    return await work(db, config);
  } catch (error) {
    // 42P01 undefined_table: the schema was never migrated.
    if ((error as { code?: unknown }).code === '42P01') {
      throw new Error(
        `${errorMessage(error)}: the database schema "${config.database.schema}" is not set up; run \`clearcut migrate\` first`,
      );
    }
    throw error;
  } finally {
    await db.close();
  }
}

/** Exactly the positional arguments `names`, or a usage error saying what was expected. */
export function positionals(command: string, given: string[], names: readonly string[]): string[] {
  if (given.length !== names.length) {
    const expected = names.map((name) => name.toUpperCase()).join(' ');
    throw new UsageError(
      `clearcut ${command}: expected ${expected || 'no arguments'}, got ${given.length === 0 ? 'none' : given.map((value) => `"${value}"`).join(' ')} (see \`clearcut ${command} --help\`)`,
    );
  }
  return given;
}

/** A duration option such as 90d, 24h or 30m (0 allowed where `allowZero`). */
export function durationOption(
  command: string,
  flag: string,
  text: string,
  { allowZero = false } = {},
): number {
  const ms = parseDuration(text);
  if (ms === undefined || (ms === 0 && !allowZero)) {
    throw new UsageError(
      `clearcut ${command}: --${flag} "${text}" is not a duration: expected a number and a unit such as 30m, 24h or 90d`,
    );
  }
  return ms;
}

/** One of `choices`, or a usage error naming them. */
export function choiceOption<const T extends string>(
  command: string,
  flag: string,
  text: string,
  choices: readonly T[],
): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`clearcut ${command}: --${flag} "${text}" is not one of ${choices.join(', ')}`);
  }
  return text as T;
}
