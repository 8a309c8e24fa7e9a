import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import { type ApiHarness, startApiHarness } from '../api/harness.js';
import { runCli } from '../support/cli.js';

// `clearcut submit --http URL` against a real API server: the same job flags as over AMQP, the job
// id and status URL printed, the problem's reason (exit 3) on a refusal.

let h: ApiHarness;
let env: Environment;
const folder = mkdtempSync(join(tmpdir(), 'clearcut-submit-http-'));

beforeAll(async () => {
  h = await startApiHarness('submit http');
  await h.tenant('acme');
  const key = await h.key('acme', 'ed25519');
  env = { ...h.environment.env, CLEARCUT_KEY_ID: key.keyId, CLEARCUT_KEY_SECRET: key.shownOnce };
}, 60_000);
afterAll(() => h?.close());

/** `clearcut submit --http <the test API> ...args`. */
const submitHttp = (...args: string[]) => runCli(env, 'submit', '--http', h.base, ...args);

const jobRow = async (id: string) =>
  (
    await h.db.query<{ items: number }>(`SELECT count(*)::int AS items FROM tasks WHERE job_id = $1`, [id])
  )[0]!.items;

describe('clearcut submit --http', () => {
  it('submits from flags and prints the job id and its status URL', async () => {
    const run = await submitHttp(
      '--bucket',
      'in-acme',
      '--keys',
      'a.jpg,b.jpg',
      '--output',
      's3://out-acme/cut/',
      '--rendition',
      'cutout,mask',
      '--job-id',
      'from-flags',
    );
    expect(run).toEqual({ status: 0, out: `from-flags\n${h.base}/v1/jobs/from-flags`, err: '' });
    expect(await jobRow('from-flags')).toBe(2);
  });

  it('submits a --body file and prints the answer as JSON; a retry is the same job', async () => {
    const file = join(folder, 'job.json');
    writeFileSync(
      file,
      JSON.stringify({
        input: { bucket: 'in-acme', key: 'c.jpg' },
        output: { bucket: 'out-acme', prefix: 'x/' },
      }),
    );
    const first = await submitHttp('--body', file, '--job-id', 'from-body', '--json');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.out)).toEqual({
      jobId: 'from-body',
      status: 'accepted',
      statusUrl: `${h.base}/v1/jobs/from-body`,
      repeated: false,
      items: 1,
      model: 'u2net',
    });
    const again = await submitHttp('--body', file, '--job-id', 'from-body', '--json');
    expect(JSON.parse(again.out)).toMatchObject({ jobId: 'from-body', repeated: true });
  });

  it("exits 3 with the problem's reason when the API refuses the job", async () => {
    const run = await submitHttp(
      '--bucket',
      'in-globex',
      '--key',
      'a.jpg',
      '--output',
      's3://out-acme/',
      '--job-id',
      'not-ours',
    );
    expect(run.status).toBe(3);
    expect(run.out).toBe('');
    expect(run.err).toMatch(
      /^clearcut submit: refused \(forbidden_location, HTTP 403\): no read grant on s3:\/\/in-globex\/a\.jpg/,
    );
    const json = await submitHttp(
      '--bucket',
      'in-acme',
      '--key',
      'a.jpg',
      '--output',
      's3://out-acme/',
      '--model',
      'nonexistent',
      '--json',
    );
    expect(json.status).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({ status: 422, reason: 'unknown_model' });
  });

  it('refuses flags that only AMQP following has, a bad URL, and says when the API does not answer', async () => {
    const job = ['--bucket', 'in-acme', '--key', 'a.jpg', '--output', 's3://out-acme/'];
    const wait = await submitHttp(...job, '--wait', '--tenant', 'acme');
    expect(wait.status).toBe(2);
    expect(wait.err).toContain('--wait does not go with --http');
    const badUrl = await runCli(env, 'submit', '--http', 'api.example.com', ...job);
    expect(badUrl.status).toBe(2);
    expect(badUrl.err).toContain('--http: url "api.example.com" is not an absolute URL');
    const down = await runCli(env, 'submit', '--http', 'http://127.0.0.1:9', ...job);
    expect(down.status).toBe(1);
    expect(down.err).toMatch(/POST \/v1\/jobs: no answer after 4 attempt\(s\)/);
  }, 30_000);
});
