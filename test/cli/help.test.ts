import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
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

it('writes nothing but its own output: no npm or library warnings through npx', async () => {
  const { stdout, stderr } = await run('npx', ['--no-install', 'clearcut', '--help'], {
    cwd: repoRoot,
  });
  expect(stdout).toMatch(/^Usage: clearcut <command>/);
  expect(stderr).toBe('');
});
