import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const run = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url);

it('prints the help and exits 0 when run without arguments, as with --help', async () => {
  const bare = await runCli({});
  expect(bare).toMatchObject({ status: 0, err: '' });
  expect(bare.out).toMatch(/^Usage: clearcut <command>/);
  expect(await runCli({}, '--help')).toEqual(bare);
});

it('lists every command, and every subcommand that has a module of its own', async () => {
  const { out } = await runCli({}, '--help');
  const listed = new Map(
    out
      .split('\n')
      .map((line) => /^ {2}(\S+) {2,}(.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1]!, match[2]!]),
  );
  const modules = readdirSync(new URL('src/cli/commands/', repoRoot)).map((file) =>
    file.replace(/\.ts$/, ''),
  );
  expect(modules.length).toBeGreaterThan(10);
  for (const module of modules) {
    // `models-quantize.ts` is `clearcut models quantize`: its parent's line must name it.
    const [command, subcommand] = module.split('-') as [string, string?];
    expect(listed.has(command), `${command} is listed`).toBe(true);
    if (subcommand) expect(listed.get(command), `${command} ${subcommand} is named`).toContain(subcommand);
  }
});

it("names every subcommand in its command's line", async () => {
  const { out } = await runCli({}, '--help');
  const commandsDir = new URL('src/cli/commands/', repoRoot);
  // Commands with subcommands: they dispatch through runSubcommand (or, for models, their own table).
  const withSubcommands = readdirSync(commandsDir).filter((file) =>
    /runSubcommand\(|unknown subcommand/.test(readFileSync(new URL(file, commandsDir), 'utf8')),
  );
  expect(withSubcommands.length).toBeGreaterThan(5);
  for (const file of withSubcommands) {
    const command = file.replace(/\.ts$/, '');
    const { err } = await runCli({}, command, 'zz-not-a-subcommand');
    const expected = /expected (?:one of )?([a-z, -]+?)(?: \(see|\)|$)/.exec(err)?.[1];
    expect(expected, `${command}: ${err}`).toBeDefined();
    const line = out.split('\n').find((candidate) => candidate.startsWith(`  ${command} `))!;
    for (const subcommand of expected!.split(/, | or /)) {
      expect(line, `clearcut --help names \`${command} ${subcommand}\``).toMatch(
        new RegExp(`\\b${subcommand}\\b`),
      );
    }
  }
});

it('writes nothing but its own output: no npm or library warnings through npx', async () => {
  const { stdout, stderr } = await run('npx', ['--no-install', 'clearcut', '--help'], {
    cwd: repoRoot,
  });
  expect(stdout).toMatch(/^Usage: clearcut <command>/);
  expect(stderr).toBe('');
});
