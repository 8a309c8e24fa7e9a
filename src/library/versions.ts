// The package version and the wire-contract versions, stated together (`clearcut --version`, the
// library's `versions`): a producer or worker built for job v1 keeps working across package
// releases as long as the contract versions it speaks are unchanged.
import { readFileSync } from 'node:fs';
import { jobContractVersion } from '../contracts/job.js';
import { resultEventContractVersion } from '../contracts/result-event.js';
import { taskContractVersion } from '../contracts/task.js';

export interface Versions {
  /** The npm package's version (package.json). */
  readonly package: string;
  /** The `version` field each wire message carries (docs/protocol.md). */
  readonly contracts: { readonly job: number; readonly task: number; readonly resultEvent: number };
}

export function versions(): Versions {
  return {
    package: packageVersion(),
    contracts: {
      job: jobContractVersion,
      task: taskContractVersion,
      resultEvent: resultEventContractVersion,
    },
  };
}

export function describeVersions({ package: version, contracts }: Versions): string {
  return `clearcut ${version} (wire contracts: job v${contracts.job}, task v${contracts.task}, result event v${contracts.resultEvent})`;
}

/**
 * Read from the package.json above this module: two levels up in the sources (src/library/), three
 * in the build (dist/src/library/), so look upwards for the one named clearcut.
 */
function packageVersion(): string {
  for (let url = new URL('../package.json', import.meta.url); ; ) {
    try {
      const manifest = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'clearcut' && manifest.version) return manifest.version;
    } catch {
      // none at this level (or unreadable): keep looking further up
    }
    const parent = new URL('../package.json', url);
    if (parent.href === url.href) throw new Error(`no clearcut package.json above ${import.meta.url}`);
    url = parent;
  }
}
