import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantsByUsage } from '../../src/dashboard/activity-store.js';
import { progressOf } from '../../src/dashboard/job-pages.js';
import { createLink } from '../../src/dashboard/link-store.js';
import { probeProcess } from '../../src/dashboard/process-probes.js';
import { issueSignInLink } from '../../src/dashboard/sign-in-link.js';
import { findJobs } from '../../src/jobs/job-progress.js';
import { type ApiHarness, job, signedFetch, startApiHarness, type TestKey } from '../api/harness.js';
import { runCli } from '../support/cli.js';
import { launchBrowser, screenshot, seriousViolations } from './browser.js';

// Signing in and everything that must be refused, in a real Chromium against a real `clearcut api`
// (PostgreSQL; RabbitMQ for the queue page): one-time links, expiry, CSRF, sign-out, tenant
// isolation, operator pages. Jobs that actually run are in pipeline.test.ts.

let h: ApiHarness;
let browser: Browser;
let acme: TestKey;
let rival: TestKey;

beforeAll(async () => {
  h = await startApiHarness('dashboard sign-in');
  browser = await launchBrowser();
  await h.tenant('acme', 'pro');
  await h.tenant('rival');
  acme = await h.key('acme');
  rival = await h.key('rival');
  for (const [key, id, tenant] of [
    [acme, 'acme-job', 'acme'],
    [rival, 'rival-secret-job', 'rival'],
  ] as const) {
    const submitted = await signedFetch(h.base, key, {
      method: 'POST',
      path: '/v1/jobs',
      body: job(tenant, ['a.jpg', 'b.jpg']),
      idempotencyKey: id,
    });
    expect(submitted.status).toBe(202);
  }
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

const link = async (tenantId: string | null, admin = false) =>
  (
    await issueSignInLink(h.db, h.environment.config, {
      tenantId,
      admin,
      ttlMs: 60_000,
      port: Number(new URL(h.base).port),
    })
  ).url.replace('localhost', '127.0.0.1');

/** A fresh browser context (its own cookies) signed in through a new link. */
async function signedIn(
  tenantId: string | null,
  admin = false,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signInThrough(page, await link(tenantId, admin));
  return { context, page };
}

/** Opens a sign-in link and presses its button, as a person does (a mere GET uses nothing up). */
async function signInThrough(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/dashboard\/(admin)?$/);
}

const statusOf = async (page: Page, path: string) => (await page.goto(`${h.base}${path}`))!.status();

describe('the dashboard in Chromium', () => {
  it('signs in through a one-time link and shows usage, jobs, keys and audit without serious accessibility problems', async () => {
    const { context, page } = await signedIn('acme');
    const cookie = (await context.cookies()).find((c) => c.name === 'clearcut_dashboard');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false, path: '/dashboard' });
    expect(await page.locator('h1').textContent()).toBe('Usage of acme');
    // The pro tier's daily and monthly windows, as GET /v1/usage reports them.
    const usage = (await (await signedFetch(h.base, acme, { path: '/v1/usage' })).json()) as {
      images: { window: string; used: number; limit: number | null; remaining: number | null }[];
    };
    const rows = await page.locator('#quota-windows tbody tr').allInnerTexts();
    for (const w of usage.images.filter((i) => i.limit !== null)) {
      expect(rows).toContainEqual(
        expect.stringMatching(new RegExp(`^${w.window}\\t${w.used}\\t${w.limit}\\t${w.remaining}\\t`)),
      );
    }
    const tenantPages = [
      ['/dashboard/', 'usage'],
      ['/dashboard/jobs', 'jobs'],
      ['/dashboard/jobs/acme-job', 'job'],
      ['/dashboard/keys', 'keys'],
      ['/dashboard/webhooks', 'webhooks'],
      ['/dashboard/audit', 'audit'],
    ];
    for (const [path, name] of tenantPages) {
      await page.goto(`${h.base}${path}`);
      await screenshot(page, `tenant-${name}`);
      expect(await seriousViolations(page), path).toEqual([]);
    }
    await page.setViewportSize({ width: 375, height: 740 });
    for (const [path, name] of tenantPages) {
      await page.goto(`${h.base}${path}`);
      await screenshot(page, `tenant-${name}-phone`);
      // Nothing wider than the phone's screen except inside the scrollable table regions.
      expect(await page.evaluate('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(375);
    }
    await context.close();
  });

  it('uses a link up only when its button is pressed, refuses it the second time, and an expired link', async () => {
    const url = await link('acme');
    const first = await browser.newContext();
    const page = await first.newPage();
    // A mail scanner fetching the link (twice, even) leaves it usable.
    for (let i = 0; i < 2; i++) {
      expect((await page.goto(url))!.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toBe('Sign in to ClearCut as tenant acme');
    }
    expect(await statusOf(page, '/dashboard/')).toBe(401);
    await page.goto(url);
    await screenshot(page, 'sign-in');
    expect(await seriousViolations(page)).toEqual([]);
    // The button works by keyboard.
    await page.getByRole('button', { name: 'Sign in' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${h.base}/dashboard/`);
    const second = await browser.newContext();
    const again = await second.newPage();
    expect((await again.goto(url))!.status()).toBe(403);
    expect(await again.locator('main').textContent()).toContain('has been used already');
    const token = new URL(url).searchParams.get('token')!;
    const replayed = await again.request.post(`${h.base}/dashboard/sign-in`, {
      form: { token },
      headers: { origin: h.base },
    });
    expect(replayed.status()).toBe(403);
    expect(await replayed.text()).toContain('has been used already');
    expect(await statusOf(again, '/dashboard/')).toBe(401);

    // A form on another site cannot sign a browser in, even with a good token.
    const fresh = new URL(await link('acme')).searchParams.get('token')!;
    const forged = await again.request.post(`${h.base}/dashboard/sign-in`, {
      form: { token: fresh },
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('came from another site');
    expect(await statusOf(again, '/dashboard/')).toBe(401);

    const expired = await createLink(
      h.db,
      { tenantId: 'acme', admin: false },
      {
        now: new Date(Date.now() - 3_600_000),
        ttlMs: 60_000,
      },
    );
    const late = await second.newPage();
    expect((await late.goto(`${h.base}/dashboard/sign-in?token=${expired.token}`))!.status()).toBe(403);
    expect(await late.locator('main').textContent()).toContain('has expired');
    expect((await late.goto(`${h.base}/dashboard/sign-in?token=${'x'.repeat(43)}`))!.status()).toBe(403);
    await screenshot(late, 'sign-in-refused');
    expect(await seriousViolations(late)).toEqual([]);
    await first.close();
    await second.close();
  });

  it("shows another tenant's job id exactly like one that does not exist", async () => {
    const { context, page } = await signedIn('acme');
    for (const path of [
      '/dashboard/jobs/rival-secret-job',
      '/dashboard/jobs/rival-secret-job/progress',
      '/dashboard/jobs/rival-secret-job/manifest',
    ]) {
      expect(await statusOf(page, path), path).toBe(404);
    }
    await page.goto(`${h.base}/dashboard/jobs/rival-secret-job`);
    expect(await page.locator('main').textContent()).toContain('There is no job rival-secret-job of yours.');
    await page.goto(`${h.base}/dashboard/jobs`);
    expect(await page.locator('#jobs').textContent()).not.toContain('rival');
    // Each row's bar, read for the whole page at once, shows what the job's own page shows.
    const [own] = await findJobs(h.db, 'acme-job', 'acme');
    const p = progressOf(own!);
    expect(
      await page.locator('#jobs tbody tr', { hasText: 'acme-job' }).locator('.progress-text').textContent(),
    ).toBe(`${p.percent} % · ${p.done} of ${p.known ? p.total : `${p.total}+`}`);
    await context.close();
  });

  it("keeps polling a job's progress after a failed answer, and stops on 401", async () => {
    const { context, page } = await signedIn('acme');
    const answers: number[] = [];
    await page.route('**/dashboard/jobs/acme-job/progress', async (route) => {
      // An API restart (502), a real answer, then a signed-out session (401).
      const status = [502, 200][answers.length] ?? 401;
      answers.push(status);
      if (status === 200) return route.continue();
      return route.fulfill({ status, body: 'no' });
    });
    await page.goto(`${h.base}/dashboard/jobs/acme-job`);
    await page.locator('.progress-text', { hasText: 'updates stopped (signed out)' }).waitFor();
    expect(answers).toEqual([502, 200, 401]);
    expect(await page.locator('.progress').getAttribute('data-stopped')).toBe('401');
    await context.close();
  });

  it('refuses a form posted without its CSRF token, or with a wrong one, and keeps the session', async () => {
    const { context, page } = await signedIn('acme', true);
    for (const form of [{}, { _csrf: 'forged' }] as Record<string, string>[]) {
      const signOut = await page.request.post(`${h.base}/dashboard/sign-out`, { form });
      expect(signOut.status()).toBe(403);
      expect(await signOut.text()).toContain('CSRF token');
      const replay = await page.request.post(`${h.base}/dashboard/admin/dead-letters/replay`, { form });
      expect(replay.status()).toBe(403);
    }
    expect(await statusOf(page, '/dashboard/')).toBe(200);
    await context.close();
  });

  it('ends the session on sign-out, for this browser and for a copy of its cookie', async () => {
    const { context, page } = await signedIn('acme');
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'clearcut_dashboard');
    // By keyboard: the skip link comes first, and Tab reaches the Sign out button.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to the content');
    for (
      let i = 0;
      i < 10 && (await page.evaluate('document.activeElement.textContent')) !== 'Sign out';
      i++
    ) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.waitForURL(/sign-out$/);
    expect(await page.locator('h1').textContent()).toBe('Signed out');
    expect(await statusOf(page, '/dashboard/')).toBe(401);
    const thief = await browser.newContext();
    await thief.addCookies([cookie!]);
    expect(await statusOf(await thief.newPage(), '/dashboard/jobs')).toBe(401);
    await thief.close();
    await context.close();
  });

  it('shows operator pages to admin sessions only', async () => {
    const tenant = await signedIn('acme');
    expect(await statusOf(tenant.page, '/dashboard/admin')).toBe(403);
    expect(await statusOf(tenant.page, '/dashboard/admin/queues')).toBe(403);
    await tenant.context.close();

    // A job into a bucket acme has no grant on: refused, audited as forbidden_location.
    const refused = await signedFetch(h.base, acme, {
      method: 'POST',
      path: '/v1/jobs',
      body: job('rival'),
      idempotencyKey: 'acme-trespass',
    });
    expect(refused.status).toBe(403);
    const admin = await signedIn(null, true);
    const headers = await admin.page.locator('#rejections-table thead th').allTextContents();
    // The last row is the server's today.
    const todayRow = await admin.page
      .locator('#rejections-table tbody tr')
      .last()
      .locator('td')
      .allTextContents();
    expect(Number(todayRow[headers.indexOf('forbidden_location') - 1])).toBeGreaterThanOrEqual(1);
    const drawn = (await admin.page.evaluate(
      `Chart.getChart(document.getElementById('rejections-chart')).data.datasets.map((d) => d.label)`,
    )) as string[];
    expect(drawn).toContain('forbidden_location');
    expect(await admin.page.locator('h1').textContent()).toBe('Operator overview');
    expect(await admin.page.locator('#tenants tbody th').allInnerTexts()).toEqual(
      expect.arrayContaining(['acme', 'rival']),
    );
    const [{ n }] = (await h.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants')) as [
      { n: number },
    ];
    expect(await admin.page.locator('#tenants caption').textContent()).toContain(`all ${n} tenants`);
    // The overview reads only the busiest tenants, and says how many there are.
    const top = await tenantsByUsage(h.db, new Date(), 1);
    expect(top.tenants).toHaveLength(1);
    expect(top.total).toBe(n);
    expect(await statusOf(admin.page, '/dashboard/')).toBe(403);
    for (const [path, name] of [
      ['/dashboard/admin', 'admin'],
      ['/dashboard/admin/queues', 'queues'],
    ]) {
      await admin.page.goto(`${h.base}${path}`);
      await screenshot(admin.page, `operator-${name}`);
      if (name === 'queues') expect(await admin.page.locator('#queues tbody tr').count()).toBe(7);
      expect(await seriousViolations(admin.page), path).toEqual([]);
    }
    await admin.context.close();
  });

  it('flags keys older than 90 days and keys about to expire, and never shows a secret', async () => {
    const old = await h.key('acme');
    await h.db.query(`UPDATE api_keys SET created_at = now() - interval '100 days' WHERE key_id = $1`, [
      old.keyId,
    ]);
    await h.db.query(`UPDATE api_keys SET expires_at = now() + interval '3 days' WHERE key_id = $1`, [
      acme.keyId,
    ]);
    const { context, page } = await signedIn('acme');
    await page.goto(`${h.base}/dashboard/keys`);
    const row = (id: string) => page.locator('#keys tbody tr', { hasText: id });
    expect(await row(old.keyId).textContent()).toContain('100 days old: rotate it');
    expect(await row(acme.keyId).textContent()).toContain('expires in 3 days');
    expect(await page.content()).not.toContain('cks_');
    await context.close();
  });

  it("lists the tenant's own webhook endpoints, without secrets", async () => {
    const env = {
      ...h.environment.env,
      CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
    };
    for (const tenantId of ['acme', 'rival']) {
      const url = `http://127.0.0.1:9/${tenantId}`;
      const added = await runCli(env, 'webhooks', 'add', '--tenant', tenantId, '--url', url);
      expect(added.status, added.err).toBe(0);
    }
    const { context, page } = await signedIn('acme');
    await page.goto(`${h.base}/dashboard/webhooks`);
    expect(await page.locator('#endpoints tbody th').allTextContents()).toEqual(['http://127.0.0.1:9/acme']);
    expect(await page.content()).not.toContain('whsec_');
    await screenshot(page, 'tenant-webhooks');
    expect(await seriousViolations(page)).toEqual([]);
    await context.close();
  });

  it('filters the audit trail', async () => {
    const { context, page } = await signedIn('acme');
    await page.goto(`${h.base}/dashboard/audit`);
    await page.getByLabel('Outcome').fill('key.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/outcome=key.created/);
    const outcomes = await page.locator('#audit tbody td:nth-child(3)').allInnerTexts();
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(['key.created']));
    expect(await statusOf(page, '/dashboard/audit?source=nope')).toBe(400);
    await context.close();
  });

  it('prints a working link with `clearcut dashboard link`, and says what is wrong with bad options', async () => {
    const env = { ...h.environment.env, CLEARCUT_API_PUBLIC_URL: h.base };
    const printed = await runCli(env, 'dashboard', 'link', '--tenant', 'acme', '--ttl', '5m');
    expect(printed.status, printed.err).toBe(0);
    expect(printed.out).toMatch(new RegExp(`^${h.base}/dashboard/sign-in\\?token=[\\w-]{43}$`));
    expect(printed.err).toMatch(/^One sign-in, until \d{4}-\d\d-\d\d/);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInThrough(page, printed.out);
    expect(await page.locator('h1').textContent()).toBe('Usage of acme');
    await context.close();

    expect(await runCli(env, 'dashboard', 'link')).toMatchObject({
      status: 2,
      err: 'clearcut dashboard link: give --tenant TENANT, --admin, or both',
    });
    expect(await runCli(env, 'dashboard', 'link', '--tenant', 'acme', '--ttl', '30s')).toMatchObject({
      status: 2,
      err: 'clearcut dashboard link: --ttl "30s" must be from 1m to 24h',
    });
    const unknown = await runCli(env, 'dashboard', 'link', '--tenant', 'nobody');
    expect(unknown.status).toBe(1);
    expect(unknown.err).toContain('nobody');
  });

  it('audits issuing links, signing in and signing out', async () => {
    const env = { ...h.environment.env, CLEARCUT_API_PUBLIC_URL: h.base };
    const printed = await runCli(env, 'dashboard', 'link', '--admin', '--tenant', 'rival');
    expect(printed.status, printed.err).toBe(0);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInThrough(page, printed.out);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-out$/);
    await context.close();
    const rows = await h.db.query<{ source: string; outcome: string; detail: string }>(
      `SELECT source, outcome, detail FROM audit_log
       WHERE tenant_id = 'rival' AND outcome LIKE 'dashboard.%' ORDER BY id`,
    );
    expect(rows).toEqual([
      {
        source: 'admin',
        outcome: 'dashboard.link_issued',
        detail: expect.stringMatching(/^operator sign-in link, usable until \d{4}-/),
      },
      {
        source: 'api',
        outcome: 'dashboard.signed_in',
        detail: expect.stringMatching(/^operator session \w+ from /),
      },
      {
        source: 'api',
        outcome: 'dashboard.signed_out',
        detail: expect.stringMatching(/^operator session \w+ from /),
      },
    ]);
  });

  it("revokes a tenant's sessions and unused links with `clearcut dashboard revoke`, then everyone's", async () => {
    const env = h.environment.env;
    const acmeBrowsers = [await signedIn('acme'), await signedIn('acme', true)];
    const rivalBrowser = await signedIn('rival');
    const unused = await link('acme');
    const revoked = await runCli(env, 'dashboard', 'revoke', '--tenant', 'acme');
    expect(revoked.status, revoked.err).toBe(0);
    expect(revoked.out).toMatch(/^acme: ([2-9]|\d\d+) sessions ended, [1-9]\d* unused links revoked\.$/);
    for (const { page } of acmeBrowsers) expect(await statusOf(page, '/dashboard/jobs')).toBe(401);
    expect(await statusOf(rivalBrowser.page, '/dashboard/jobs')).toBe(200);
    const late = await browser.newContext();
    const latePage = await late.newPage();
    expect((await latePage.goto(unused))!.status()).toBe(403);
    expect(await latePage.locator('main').textContent()).toContain('was revoked');
    const [audited] = await h.db.query<{ detail: string }>(
      `SELECT detail FROM audit_log WHERE tenant_id = 'acme' AND outcome = 'dashboard.revoked'`,
    );
    expect(`acme: ${audited?.detail}.`).toBe(revoked.out);

    const everyone = await runCli(env, 'dashboard', 'revoke', '--all');
    expect(everyone.status, everyone.err).toBe(0);
    expect(everyone.out).toMatch(/^Everyone: [1-9]\d* sessions ended, \d+ unused links revoked\.$/);
    expect(await statusOf(rivalBrowser.page, '/dashboard/jobs')).toBe(401);
    // A new link works again afterwards.
    const fresh = await signedIn('acme');
    expect(await statusOf(fresh.page, '/dashboard/jobs')).toBe(200);

    for (const wrong of [[], ['--all', '--tenant', 'acme']]) {
      expect(await runCli(env, 'dashboard', 'revoke', ...wrong)).toMatchObject({
        status: 2,
        err: 'clearcut dashboard revoke: give either --tenant TENANT or --all',
      });
    }
    const unknown = await runCli(env, 'dashboard', 'revoke', '--tenant', 'nobody');
    expect(unknown.status).toBe(1);
    expect(unknown.err).toContain('nobody');
    for (const b of [...acmeBrowsers, rivalBrowser, fresh]) await b.context.close();
    await late.close();
  });

  it("reads a process's readiness and metrics from its own ops routes", async () => {
    const report = await probeProcess({ name: 'api', url: h.base });
    expect(report).toMatchObject({ ready: true, checks: { database: true, signingKeys: true }, error: null });
    expect(report.metrics.clearcut_api_responses_total).toBeGreaterThan(0);
    const silent = await probeProcess({ name: 'gone', url: 'http://127.0.0.1:1' });
    expect(silent).toMatchObject({ ready: null });
    expect(silent.error).not.toBeNull();

    // A process (or anything at its address) that sends endless bytes, or stalls mid-answer.
    const flood = Buffer.alloc(64 * 1024, 'x');
    const liar = createServer((request, response) => {
      if (request.url === '/readyz') return response.end(JSON.stringify({ checks: { database: true } }));
      response.writeHead(200);
      if (request.url === '/metrics') {
        const more = () => {
          while (response.write(flood)) {}
        };
        response.on('drain', more);
        more();
      } else response.write('{"checks"'); // /stall/readyz: headers and a little, then nothing
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
    try {
      const flooded = await probeProcess({ name: 'flood', url });
      expect(flooded).toMatchObject({ ready: true, checks: { database: true }, metrics: {} });
      expect(flooded.error).toBe(`metrics: ${url}/metrics answered more than 1048576 bytes`);
      const stalled = await probeProcess({ name: 'stall', url: `${url}/stall` });
      expect(stalled).toMatchObject({ ready: null });
      expect(stalled.error).toMatch(/timeout|abort/i);
    } finally {
      liar.closeAllConnections();
      await new Promise((resolve) => liar.close(resolve));
    }
  });
});
