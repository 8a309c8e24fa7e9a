import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseOptions } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { afterEach, expect, it } from 'vitest';

// The rules of .dependency-cruiser.cjs (the ones `npm run lint:arch` checks), applied to a small
// tree that obeys them all, then to the same tree with one forbidden import added: each rule must
// catch its own breach and nothing else.

type Tree = Record<string, string>;

const installed = (name: string): Tree => ({
  [`node_modules/${name}/package.json`]: JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
  [`node_modules/${name}/index.js`]: 'module.exports = {};\n',
});
const imports = (...specifiers: string[]) =>
  `${specifiers.map((specifier, index) => `import * as m${index} from '${specifier}';`).join('\n')}\nexport const used = [${specifiers.map((_, index) => `m${index}`).join(', ')}];\n`;

/** A miniature of the real layout in which every import goes the allowed way. */
const lawful: Tree = {
  'package.json': JSON.stringify({ dependencies: { zod: '1.0.0' }, devDependencies: { s3rver: '1.0.0' } }),
  ...installed('zod'),
  ...installed('s3rver'),
  'src/errors.ts': 'export class PermanentError extends Error {}\n',
  'src/contracts/job.ts': imports('../errors.js', 'zod'),
  'src/signing/keys.ts': imports('../contracts/job.js'),
  'src/queue/bus.ts': imports('../contracts/job.js'),
  'src/inference/engine.ts': imports('../contracts/job.js', '../errors.js'),
  'src/admission/admit.ts': imports('../queue/bus.js', '../signing/keys.js'),
  'src/gateway/run.ts': imports('../admission/admit.js'),
  'src/events/run.ts': imports('../admission/admit.js'),
  'src/storage/s3.ts': imports('zod'),
  'workers/gateway.ts': imports('../src/gateway/run.js'),
  'infra/dev/embedded-s3.ts': imports('s3rver', '../../src/storage/s3.js'),
  'test/gateway.test.ts': imports('../src/gateway/run.js', '../infra/dev/embedded-s3.js', 's3rver'),
};

const breaches: { rule: string; breach: Tree }[] = [
  {
    rule: 'no-module-cycles',
    breach: { 'src/queue/a.ts': imports('./b.js'), 'src/queue/b.ts': imports('./a.js') },
  },
  {
    rule: 'no-folder-cycles',
    breach: {
      'src/queue/notify.ts': imports('../jobs/outbox.js'),
      'src/jobs/outbox.ts': imports('../queue/bus.js'),
    },
  },
  { rule: 'contracts-at-the-bottom', breach: { 'src/contracts/ids.ts': imports('../storage/s3.js') } },
  { rule: 'inference-knows-no-transport', breach: { 'src/inference/fetch.ts': imports('../queue/bus.js') } },
  { rule: 'front-doors-apart', breach: { 'src/events/plan.ts': imports('../gateway/run.js') } },
  {
    rule: 'product-without-test-machinery',
    breach: {
      'infra/dev/fake.ts': 'export const fake = 1;\n',
      'src/queue/fake.ts': imports('../../infra/dev/fake.js'),
    },
  },
  { rule: 'product-without-dev-dependencies', breach: { 'src/storage/tool.ts': imports('s3rver') } },
  { rule: 'imports-resolve', breach: { 'src/storage/typo.ts': imports('./missing.js') } },
];

const directories: string[] = [];
afterEach(async () => {
  await Promise.all(
    directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })),
  );
});

/** The names of the rules that `tree` breaks, as `npm run lint:arch` would report them. */
async function brokenRules(tree: Tree): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), 'clearcut-architecture-'));
  directories.push(root);
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  const { tsConfig: _projectTsConfig, ...options } =
    await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const cruiseOptions: ICruiseOptions = { ...options, baseDir: root, validate: true };
  const result = await cruise(['src', 'workers', 'infra', 'test'], cruiseOptions);
  if (typeof result.output === 'string') throw new Error('expected a cruise result, got a report');
  return [...new Set(result.output.summary.violations.map((violation) => violation.rule.name))].sort();
}

it('finds nothing to object to in a tree whose imports all go the allowed way', async () => {
  expect(await brokenRules(lawful)).toEqual([]);
});

it.each(breaches)('catches a breach of $rule, and only of it', async ({ rule, breach }) => {
  expect(await brokenRules({ ...lawful, ...breach })).toEqual([rule]);
});
