import { errorMessage, UsageError } from '../errors.js';
import { silenceLibraryWarnings } from '../ops/library-warnings.js';
import { type CliIo, type Command, processIo } from './io.js';

/** Every command: its name is also its module under ./commands/, loaded only when run. */
const commands: Record<string, string> = {
  remove: 'Cut the background out of local image files or folders',
  models:
    'List, pull, import, synthesise or quantize models (list | pull NAME | import FILE | synth u2net|u2netp | quantize NAME|FILE)',
  config: 'Show every configuration variable, its value and what it means',
  migrate: 'Apply the PostgreSQL migrations',
  tenants: 'Manage tenants (create | list | set-tier)',
  keys: 'Manage signing keys (create | list | rotate | reseal | revoke)',
  grants: 'Manage bucket grants (add | remove | list)',
  quota: 'Show or set a tenant quota, list the tiers (show | set | tiers)',
  audit: 'Print audit rows',
  submit: 'Sign and publish a job',
  token: 'Print an access token for the HTTP API, obtained with your key (OAuth client credentials)',
  gateway: 'Run the gateway consumer',
  api: 'Run the HTTP API (signed requests and OAuth tokens, jobs, usage)',
  worker: 'Run an inference worker',
  status: 'Show the progress of a job',
  results: 'Show where the results of a job are, and its failures',
  dlq: 'List or replay dead-lettered jobs, events and tasks (list | replay)',
  events: 'Run the S3 event consumer alone (it also runs inside the gateway)',
  triggers: 'Manage S3 event trigger rules (add | list | remove | disable | enable)',
  dashboard: 'Sign-in links to the usage and jobs dashboard, and ending its sessions (link | revoke)',
  webhooks: 'Manage signed webhooks (add | list | remove | rotate-secret | enable | disable | deliveries)',
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: clearcut <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `clearcut <command> --help` for its options, `clearcut --version` for the versions.',
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  silenceLibraryWarnings();
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    // Loaded only here: reading package.json and the contracts has no place on any other command's start.
    const { describeVersions, versions } = await import('../library/versions.js');
    io.out(describeVersions(versions()));
    return 0;
  }
  if (!Object.hasOwn(commands, name)) {
    io.err(`clearcut: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const module = (await import(/* @vite-ignore */ `./commands/${name}.js`)) as { run: Command };
    return await module.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(error.message);
      return 2;
    }
    // Loaded only on failure (commands that read the configuration have loaded it already): the
    // configuration schemas bring zod, which `--help` and `--version` would otherwise wait for.
    const { ConfigError } = await import('../config.js');
    if (error instanceof ConfigError) {
      io.err(error.message);
      return 78; // EX_CONFIG
    }
    io.err(`clearcut ${name}: ${errorMessage(error)}`);
    return 1;
  }
}
