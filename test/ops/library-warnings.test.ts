import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url);
const nodeMajor = Number(process.versions.node.split('.')[0]);

/** stderr of a fresh Node process that makes an S3 client, after silencing library warnings or not. */
async function stderrOfS3Client(silenced: boolean): Promise<string> {
  const script = [
    "import { silenceLibraryWarnings } from './src/ops/library-warnings.ts';",
    "import { S3Client } from '@aws-sdk/client-s3';",
    silenced ? 'silenceLibraryWarnings();' : '',
    "new S3Client({ region: 'us-east-1' }).destroy();",
  ].join('\n');
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _, ...env } = process.env;
  const { stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env,
  });
  return stderr;
}

// The SDK warns on Node < 22; on a newer Node there is nothing to silence.
it.runIf(nodeMajor < 22)("keeps the AWS SDK's Node version warning off stderr", async () => {
  const [loud, quiet] = await Promise.all([stderrOfS3Client(false), stderrOfS3Client(true)]);
  expect(loud).toContain('NodeVersionSupportWarning');
  expect(quiet).toBe('');
});
