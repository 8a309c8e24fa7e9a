import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/keys/key-admin.js';
import { addGrant } from '../../src/policy/grant-admin.js';
import { type ApiHarness, startApiHarness } from '../api/harness.js';

// docs/protocol.md section 9.1's Python producer, run exactly as the document shows it (python3,
// standard library only) against a real API: it is admitted, and a refusal ends with its reason.

const protocol = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const section9 = protocol.slice(protocol.indexOf('## 9. Signed HTTP requests'));
const example = /```python\n([\s\S]*?)```/.exec(section9)?.[1];
const python = spawnSync('python3', ['--version']).status === 0;

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness('python http example');
  for (const tenant of ['acme', 'globex']) await h.tenant(tenant);
  // The example's locations, granted to acme only.
  await addGrant(h.db, 'acme', { bucket: 'catalog', prefix: 'shoes/', access: 'read' });
  await addGrant(h.db, 'acme', { bucket: 'cutouts', prefix: 'shoes/', access: 'write' });
}, 60_000);
afterAll(() => h?.close());

async function runExample(tenantId: string) {
  const created = await createKey(h.db, h.masterKey, {
    tenantId,
    algorithm: 'hmac-sha256',
    environment: 'test',
    expiresAt: null,
  });
  // Asynchronously: the API answering it runs in this process.
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      'python3',
      ['-c', example!],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          CLEARCUT_API_URL: h.base,
          CLEARCUT_KEY_ID: created.key.keyId,
          CLEARCUT_KEY_SECRET: created.shownOnce,
        },
        timeout: 30_000,
      },
      (_error, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
    );
  });
}

describe.skipIf(!python)('the Python HTTP producer of docs/protocol.md', () => {
  it('is in section 9', () => {
    expect(example).toContain('"clearcut-http-v1"');
  });

  it('submits a job the API admits, and prints its id and status URL', async () => {
    const run = await runExample('acme');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const [jobId, statusUrl] = run.stdout.trim().split(' ');
    expect(statusUrl).toBe(`${h.base}/v1/jobs/${jobId}`);
    const [job] = await h.db.query<{ tenant_id: string }>(`SELECT tenant_id FROM jobs WHERE id = $1`, [
      jobId,
    ]);
    expect(job).toEqual({ tenant_id: 'acme' });
  });

  it("ends with the problem's reason when the API refuses the job", async () => {
    const run = await runExample('globex');
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'refused (forbidden_location): no read grant on s3://catalog/shoes/ for tenant globex\n',
    );
  });
});
