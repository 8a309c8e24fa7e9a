// `clearcut --version` in a clone (the installed package is covered by test/package): the version
// of the package.json beside the sources, and the version each wire message carries as the
// published JSON Schemas (src/contracts/schemas/) state it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { versions } from '../../src/library/index.js';
import { runCli } from '../support/cli.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const { version } = JSON.parse(read('package.json')) as { version: string };

/** The `const` of every `version` property in a message's JSON Schema, which must agree. */
function schemaVersion(message: string): number {
  const text = read(`src/contracts/schemas/${message}.v1.schema.json`);
  const found = new Set(
    [...text.matchAll(/"version":\s*\{[^}]*"const":\s*(\d+)/g)].map((match) => Number(match[1])),
  );
  expect(found.size, `${message} schema states one version`).toBe(1);
  return [...found][0]!;
}

describe('versions', () => {
  it('states the package version and the version each wire message carries', () => {
    expect(versions()).toEqual({
      package: version,
      contracts: {
        job: schemaVersion('job'),
        task: schemaVersion('task'),
        resultEvent: schemaVersion('result-event'),
      },
    });
  });

  it('are what clearcut --version and -V print', async () => {
    const { contracts } = versions();
    for (const flag of ['--version', '-V']) {
      const { status, out } = await runCli({}, flag);
      expect({ status, out }).toEqual({
        status: 0,
        out: `clearcut ${version} (wire contracts: job v${contracts.job}, task v${contracts.task}, result event v${contracts.resultEvent})`,
      });
    }
  });
});
