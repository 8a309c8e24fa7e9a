import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/dev/demo/children.js';
import { type ApiService, startApi } from '../../src/api/service.js';
import { loadConfig } from '../../src/config.js';
import { issueSignInLink } from '../../src/dashboard/sign-in-link.js';
import { findJobs } from '../../src/jobs/job-progress.js';
import { createLogger } from '../../src/log.js';
import { createPipelineHarness, type PipelineHarness } from '../e2e/pipeline-harness.js';
import type { TestKey } from '../gateway/harness.js';
import { smallProductPng, truncated } from '../support/images.js';
import { until, untilValue } from '../support/until.js';
import { launchBrowser, screenshot, seriousViolations } from './browser.js';

// The dashboard watching real work: a gateway, a worker and `clearcut api` over PostgreSQL,
// RabbitMQ and the embedded S3 server. A job's bar moves to 100 % in Chromium as the worker runs
// it, the usage chart counts its images, and a dead-lettered task is replayed from the queue page.

let p: PipelineHarness;
let api: ApiService;
let browser: Browser;
let base: string;
let key: TestKey;
let input: string;
let output: string;
let workerPort: number;

beforeAll(async () => {
  workerPort = await freePort();
  p = await createPipelineHarness('dashboard pipeline', {
    CLEARCUT_API_PORT: '0',
    CLEARCUT_DASHBOARD_PROCESSES: `worker=http://127.0.0.1:${workerPort}`,
  });
  api = await startApi(loadConfig(p.env), { log: createLogger('silent') });
  base = `http://127.0.0.1:${api.port}`;
  browser = await launchBrowser();
  input = await p.s3.createBucket('in');
  output = await p.s3.createBucket('out');
  key = await p.tenant(input, output);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await p?.dispose();
});

async function signedIn(
  tenantId: string | null,
  admin = false,
): Promise<{ context: BrowserContext; page: Page }> {
  const { url } = await issueSignInLink(p.h.db, loadConfig(p.env), {
    tenantId,
    admin,
    ttlMs: 60_000,
    port: api.port,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url.replace('localhost', '127.0.0.1'));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard\/(admin)?$/);
  return { context, page };
}

const job = (keys: string[]) => ({
  version: 1,
  input: { bucket: input, keys },
  output: { bucket: output, prefix: 'cut/' },
  renditions: [{ kind: 'cutout', format: 'png' }],
  model: 'u2netp',
});

describe('the dashboard over a running pipeline', () => {
  it("moves a running job's bar to 100 %, lists its failed item, links its manifest and counts its images", async () => {
    const keys = Array.from({ length: 6 }, (_, i) => `shoes/shoe-${i}.png`);
    for (const [i, k] of keys.entries()) {
      await p.s3.store.put(input, k, await smallProductPng(i), { contentType: 'image/png' });
    }
    await p.s3.store.put(input, 'shoes/broken.png', truncated(await smallProductPng(9), 0.3), {
      contentType: 'image/png',
    });
    // No worker yet: the page opens on a job that has not started.
    const jobId = await p.submit(key, job([...keys, 'shoes/broken.png']));
    const { context, page } = await signedIn(key.tenantId);
    await page.goto(`${base}/dashboard/jobs/${jobId}`);
    expect(await page.locator('progress').getAttribute('value')).toBe('0');
    const seen: number[] = [];
    await page.exposeFunction('recordProgress', (value: number) => seen.push(value));
    await page.evaluate(`new MutationObserver(() => window.recordProgress(document.querySelector('progress').value))
      .observe(document.querySelector('progress'), { attributes: true, childList: true })`);

    await p.startWorker({ CLEARCUT_HTTP_PORT: String(workerPort) });
    // The script polls the progress and reloads the page once the results are written.
    await page.locator('#manifest').waitFor({ timeout: 120_000 });
    expect(seen.at(-1)).toBe(100);
    expect(await page.locator('progress').getAttribute('value')).toBe('100');
    expect(await page.locator('.progress-text').textContent()).toContain('100 % · 7 of 7 · 1 failed');
    const failed = await page.locator('#failed-items tbody tr').allTextContents();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(`s3://${input}/shoes/broken.png`);
    const code = await page.locator('#failed-items tbody td code').textContent();
    const [row] = await p
      .tasks(key.tenantId, jobId)
      .then((rows) => rows.filter((r) => r.status === 'failed'));
    expect(code).toBe(row!.error_code);
    await screenshot(page, 'pipeline-job-done');
    expect(await seriousViolations(page)).toEqual([]);

    const manifest = await page.request.get(`${base}${await page.locator('#manifest').getAttribute('href')}`);
    expect(manifest.status()).toBe(200);
    const lines = (await manifest.text())
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => l.status).sort()).toEqual(['failed', ...Array(6).fill('succeeded')]);
    // Streamed from S3 with the object's own length; a manifest gone from S3 is a 404 that says so.
    const [finished] = await findJobs(p.h.db, jobId, key.tenantId);
    const stored = await p.s3.store.get(finished!.manifest!.bucket, finished!.manifest!.key, {
      maxBytes: 1 << 20,
    });
    expect(manifest.headers()['content-length']).toBe(String(stored.size));
    await p.s3.store.delete(finished!.manifest!.bucket, finished!.manifest!.key);
    const gone = await page.request.get(`${base}/dashboard/jobs/${jobId}/manifest`);
    expect(gone.status()).toBe(404);
    expect(await gone.text()).toContain('is no longer at s3://');

    await page.goto(`${base}/dashboard/`);
    const hourly = await page.locator('#hourly-table tbody td').allTextContents();
    expect(hourly).toHaveLength(24);
    expect(hourly.map(Number).reduce((a, b) => a + b, 0)).toBe(7);
    expect(Number(hourly.at(-1))).toBeGreaterThan(0);
    const daily = await page.locator('#daily-table tbody td').allTextContents();
    expect(daily).toHaveLength(30);
    expect(Number(daily.at(-1))).toBeGreaterThanOrEqual(Number(hourly.at(-1)));
    const drawn = (await page.evaluate(
      `Chart.getChart(document.getElementById('hourly-chart')).data.datasets[0].data`,
    )) as number[];
    expect(drawn.map(String)).toEqual(hourly);
    await screenshot(page, 'pipeline-usage');
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  }, 180_000);

  it('shows a dead-lettered task on the queue page and replays it with the button', async () => {
    await p.s3.store.put(input, 'stuck/a.png', await smallProductPng(3), { contentType: 'image/png' });
    p.flaky.failAlways(`${input}/stuck/a.png`);
    const jobId = await p.submit(key, job(['stuck/a.png']));
    await p.waitForJob(key.tenantId, jobId, 120_000);

    const { context, page } = await signedIn(null, true);
    const deadRow = page.locator('#queues tbody tr', { hasText: '.tasks.dead' });
    await until(
      async () => {
        await page.goto(`${base}/dashboard/admin/queues`);
        return (await deadRow.locator('td').nth(1).textContent()) === '1';
      },
      { what: 'one dead-lettered task on the queue page', timeoutMs: 30_000, intervalMs: 250 },
    );
    const worker = page.locator('#processes tbody tr', { hasText: 'worker' });
    expect(await worker.locator('td').first().textContent()).toBe('ready');
    expect(await worker.textContent()).toContain('clearcut_worker_tasks_total');
    await screenshot(page, 'pipeline-queues');
    expect(await seriousViolations(page)).toEqual([]);

    p.flaky.heal(`${input}/stuck/a.png`);
    await page.getByLabel('Job id (empty: every dead-lettered task)').fill(jobId);
    await page.getByRole('button', { name: 'Replay dead-lettered tasks' }).click();
    await page.waitForURL(/replayed=/);
    expect(await page.locator('[role=status]').textContent()).toContain('Replayed 1 dead-lettered task(s)');
    await untilValue(
      async () => {
        const [task] = await p.tasks(key.tenantId, jobId);
        return task?.status === 'succeeded';
      },
      { what: 'the replayed task to succeed', timeoutMs: 60_000 },
    );
    await context.close();
  }, 180_000);
});
