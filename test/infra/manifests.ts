// Shared checks of the deployment files in infra/: the environment they give a process is one the
// code accepts, and the command they run exists.
import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { type Config, type Environment, loadConfig, unknownVariables } from '../../src/config.js';

export const repoRoot = new URL('../../', import.meta.url);
export const repoFile = (path: string) => new URL(path, repoRoot);

/** Every YAML document of a file; a syntax error anywhere fails loudly with its position. */
export function readYamlDocuments(path: string): Record<string, unknown>[] {
  const documents = parseAllDocuments(readFileSync(repoFile(path), 'utf8'), { merge: true });
  return documents.map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors.map(String).join('; ')}`);
    return document.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  });
}

/** The parsed configuration, or the ConfigError's problems as the thrown message; a CLEARCUT_*
 * name the code does not read (which a process would only warn of) fails too. */
export function configOf(env: Environment): Config {
  const unknown = unknownVariables(env);
  if (unknown.length > 0) throw new Error(unknown.join('\n'));
  return loadConfig(env);
}

export type ProcessCommand =
  | { kind: 'worker'; entry: string; source: string }
  | { kind: 'cli'; command: string; args: string[] };

/**
 * What a container command runs: `node dist/workers/X.js` (built from workers/X.ts, tsconfig.build.json
 * has rootDir . and outDir dist) or `node bin/clearcut.js COMMAND ...`. Anything else is refused.
 */
export function processCommand(command: readonly string[]): ProcessCommand {
  const [program, script, ...rest] = command;
  if (program !== 'node' || script === undefined) {
    throw new Error(`expected "node <script>", got ${JSON.stringify(command)}`);
  }
  const built = /^dist\/(workers\/[a-z-]+)\.js$/.exec(script);
  if (built && rest.length === 0) return { kind: 'worker', entry: script, source: `${built[1]}.ts` };
  if (script === 'bin/clearcut.js' && rest[0] !== undefined) {
    return { kind: 'cli', command: rest[0], args: rest.slice(1) };
  }
  throw new Error(
    `expected dist/workers/<name>.js or bin/clearcut.js <command>, got ${JSON.stringify(command)}`,
  );
}

export function commandExists(command: ProcessCommand): boolean {
  return command.kind === 'worker'
    ? existsSync(repoFile(command.source))
    : existsSync(repoFile(`src/cli/commands/${command.command}.ts`));
}

/** The HTTP port (/healthz, /readyz, /metrics) a process started by this command listens on. */
export function opsPort(command: ProcessCommand, config: Config): number | undefined {
  if (command.kind !== 'worker') return undefined;
  const ports: Record<string, number> = {
    'workers/gateway.ts': config.gateway.httpPort,
    'workers/events.ts': config.gateway.eventsHttpPort,
    'workers/inference.ts': config.worker.httpPort,
  };
  const port = ports[command.source];
  if (port === undefined) throw new Error(`${command.source}: which port does it serve? (add it here)`);
  return port;
}
