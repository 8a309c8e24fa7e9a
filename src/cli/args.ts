import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
};

/** node:util parseArgs with usage errors that name the command and the offending flag. */
export function parseCommandArgs<const O extends Record<string, OptionSpec>>(
  command: string,
  args: string[],
  options: O,
  { positionals = true }: { positionals?: boolean } = {},
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`clearcut ${command}: ${message} (see \`clearcut ${command} --help\`)`);
  }
}

export function requireOption(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`clearcut ${command}: --${name} is required`);
  return value;
}
