// A throw-away npm project with ClearCut installed from its own tarball, as a user would get it:
// `npm pack` (its prepack builds dist/), then `npm ci --offline` from npm's cache, which holds every
// dependency after our own `npm ci`. A cache holds tarballs, not registry metadata, so the project
// gets a lockfile made from ours: its production entries, plus the tarball itself.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoDir = fileURLToPath(new URL('../../', import.meta.url));

export interface CommandRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TryoutProject {
  readonly dir: string;
  /** Paths inside the tarball, as `npm pack --json` lists them. */
  readonly files: readonly string[];
  /** Path of the installed package's bin script. */
  readonly bin: string;
  /** The installed `clearcut` bin, run by node with `env` added to this process's environment. */
  clearcut(args: readonly string[], env?: Record<string, string>): Promise<CommandRun>;
  /** `node file` inside the project (files written there import 'clearcut' as a user would). */
  node(file: string, args?: readonly string[], env?: Record<string, string>): Promise<CommandRun>;
  remove(): Promise<void>;
}

interface LockEntry {
  readonly dev?: boolean;
  readonly [field: string]: unknown;
}

export async function installPackedClearcut(): Promise<TryoutProject> {
  const dir = await mkdtemp(join(tmpdir(), 'clearcut-tryout-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], repoDir);
  if (packed.status !== 0)
    throw new Error(`npm pack failed (${packed.status}):\n${packed.stdout}\n${packed.stderr}`);
  // Lifecycle output (the build) may precede the JSON.
  const [pack] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as [
    { filename: string; files: { path: string }[] },
  ];
  const tarball = `file:${pack.filename}`;
  const manifest = JSON.parse(await readFile(join(repoDir, 'package.json'), 'utf8'));
  const ourLock = JSON.parse(await readFile(join(repoDir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const registry = (await run('npm', ['config', 'get', 'registry'], repoDir)).stdout
    .trim()
    .replace(/\/?$/, '/');
  const dependencies = Object.entries(ourLock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path, entry]) => [path, { resolved: tarballUrl(registry, path, entry), ...entry }] as const);
  const integrity = createHash('sha512')
    .update(await readFile(join(dir, pack.filename)))
    .digest('base64');
  const project = {
    name: 'clearcut-tryout',
    private: true,
    type: 'module',
    dependencies: { clearcut: tarball },
    // Our decision on dependencies' install scripts (onnxruntime-node's would fetch GPU files), which
    // npm reads from the project being installed, never from a dependency: a user copies it too.
    ...(manifest.allowScripts && { allowScripts: manifest.allowScripts }),
  };
  const lock = {
    name: project.name,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: project.name, dependencies: project.dependencies },
      'node_modules/clearcut': {
        version: manifest.version,
        resolved: tarball,
        integrity: `sha512-${integrity}`,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
      ...Object.fromEntries(dependencies),
    },
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(project, null, 2));
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  // Likewise our .npmrc as it is now, if we have one (the same decision, for npm before allowScripts).
  const npmrc = await readFile(join(repoDir, '.npmrc')).catch(() => undefined);
  if (npmrc) await writeFile(join(dir, '.npmrc'), npmrc);
  const installed = await run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], dir);
  if (installed.status !== 0)
    throw new Error(`npm ci --offline failed (${installed.status}):\n${installed.stderr}`);
  const bin = join(dir, 'node_modules', 'clearcut', manifest.bin.clearcut);

  return {
    dir,
    files: pack.files.map((file) => file.path),
    bin,
    clearcut: (args, env = {}) => run(process.execPath, [bin, ...args], dir, env),
    node: (file, args = [], env = {}) => run(process.execPath, [file, ...args], dir, env),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Where the registry keeps this entry's tarball. Our lockfile may leave `resolved` out (npm's
 * omit-lockfile-registry-resolved), and without it npm asks the registry for the package's metadata,
 * which its cache need not hold; with it, the tarball is found in the cache by its integrity.
 */
function tarballUrl(registry: string, path: string, entry: LockEntry): string | undefined {
  if (typeof entry.version !== 'string') return undefined;
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return `${registry}${name}/-/${name.split('/').at(-1)}-${entry.version}.tgz`;
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ status: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}
