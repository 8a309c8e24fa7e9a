// `npm run demo`: the whole pipeline on this machine (infra/dev/demo/run-demo.ts says what it does).
import { resolve } from 'node:path';
import { ConfigError } from '../../src/config.js';
import { silenceLibraryWarnings } from '../../src/ops/library-warnings.js';
import { DemoServicesError, runDemo } from './demo/run-demo.js';

/** Resolves on Ctrl-C (SIGINT) or SIGTERM; the demo then stops its services and exits. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

silenceLibraryWarnings();
try {
  process.exitCode = await runDemo({
    env: process.env,
    outputDir: resolve('demo-output'),
    print: (line) => process.stdout.write(`${line}\n`),
    // In a terminal the dashboard link stays usable until Ctrl-C; piped or in CI, the demo ends.
    ...(process.stdout.isTTY ? { serve: untilInterrupted } : {}),
  });
} catch (error) {
  if (!(error instanceof DemoServicesError || error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
