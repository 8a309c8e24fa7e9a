import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createDatabase } from '../../src/db/postgres.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { runCli } from '../support/cli.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

// `clearcut webhooks` through the CLI's own main(): what it prints, what it refuses and why. The
// environment does NOT allow private addresses or http, as in production.

let environment: TestEnvironment;
let db: Database;

beforeAll(async () => {
  environment = await createTestEnvironment('webhooks cli');
  db = createDatabase(environment.config.database);
  await migrate(db);
  await createTenant(db, 'acme', 'unlimited');
});

afterAll(async () => {
  await db?.close();
  await environment?.dispose();
});

const cli = (...argv: string[]) => runCli(environment.env, 'webhooks', ...argv);
const lenientCli = (...argv: string[]) =>
  runCli(
    {
      ...environment.env,
      CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      CLEARCUT_WEBHOOKS_ALLOW_HTTP: 'true',
    },
    'webhooks',
    ...argv,
  );

describe('clearcut webhooks', () => {
  it.each([
    [
      'http://127.0.0.1:9000/hook',
      'the URL must start with https:// (http:// only where the operator set CLEARCUT_WEBHOOKS_ALLOW_HTTP), not http://',
    ],
    [
      'https://127.0.0.1:9000/hook',
      'refused: 127.0.0.1 is a loopback address (an operator can allow these with CLEARCUT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES)',
    ],
    ['https://169.254.169.254/latest/meta-data/', 'refused: 169.254.169.254 is a cloud metadata address'],
    ['https://[fd00:ec2::254]/', 'refused: fd00:ec2::254 is a cloud metadata address'],
    ['https://localhost:8443/hook', 'refused: localhost → '],
    ['https://10.1.2.3/hook', 'refused: 10.1.2.3 is a private (RFC 1918) address'],
    ['https://user:secret@hooks.example.com/', 'the URL must not carry a user name or password'],
  ])('add refuses %s', async (url, message) => {
    const run = await cli('add', '--tenant', 'acme', '--url', url);
    expect(run).toMatchObject({ status: 2, out: '' });
    expect(run.err).toContain(`clearcut webhooks add: ${message}`);
  });

  it('add refuses the metadata address even where private addresses are allowed', async () => {
    const run = await lenientCli('add', '--tenant', 'acme', '--url', 'http://169.254.169.254/');
    expect(run.status).toBe(2);
    expect(run.err).toBe('clearcut webhooks add: refused: 169.254.169.254 is a cloud metadata address');
  });

  it('add refuses unknown event types, a missing --url and an unknown tenant', async () => {
    const events = await cli(
      'add',
      '--tenant',
      'acme',
      '--url',
      'https://hooks.example.com/',
      '--events',
      'job.done',
    );
    expect(events).toMatchObject({ status: 2 });
    expect(events.err).toBe(
      'clearcut webhooks add: --events "job.done" is not an event type: expected job.completed, item.failed',
    );
    expect((await cli('add', '--tenant', 'acme')).err).toBe('clearcut webhooks add: --url is required');
    const tenant = await lenientCli('add', '--tenant', 'nobody', '--url', 'http://127.0.0.1:1/');
    expect(tenant.status).toBe(1);
    expect(tenant.err).toContain('nobody');
  });

  it('adds, shows the secret once, lists, rotates, disables, enables and removes', async () => {
    const added = await lenientCli(
      'add',
      '--tenant',
      'acme',
      '--url',
      'http://127.0.0.1:9/hook',
      '--events',
      'item.failed',
    );
    expect(added.status, added.err).toBe(0);
    const [, id] =
      /^Added webhook (wh_[A-Za-z0-9_-]{16}) for acme: http:\/\/127\.0\.0\.1:9\/hook \(item\.failed\)\.$/m.exec(
        added.out,
      )!;
    const secret = /Signing secret \(shown once; give it to the receiver\): (whsec_\S+)$/m.exec(
      added.out,
    )![1]!;
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);

    const listed = await cli('list', '--tenant', 'acme');
    expect(listed.out).toMatch(
      new RegExp(`^${id}\\s+acme\\s+enabled\\s+item\\.failed\\s+http://127\\.0\\.0\\.1:9/hook`, 'm'),
    );
    const json = await cli('list', '--json');
    expect(json.out).not.toContain(secret.slice(6, 20));
    expect(JSON.parse(json.out)).toMatchObject([
      { id, tenantId: 'acme', enabled: true, events: ['item.failed'] },
    ]);

    const rotated = await cli('rotate-secret', id!);
    expect(rotated.status, rotated.err).toBe(0);
    expect(rotated.out).toMatch(
      /^New signing secret for webhook wh_\S+ \(shown once\): whsec_\S+\nUntil \S+Z deliveries carry a signature with the old secret too\.$/,
    );
    expect(rotated.out).not.toContain(secret);
    // A leaked secret: --no-grace drops the old one (and the one still in its grace) at once.
    const cutOver = await cli('rotate-secret', id!, '--no-grace', '--json');
    expect(cutOver.status, cutOver.err).toBe(0);
    expect(JSON.parse(cutOver.out)).toMatchObject({ id, previousSecretUntil: null });
    const [stored] = await db.query<{ previous: Buffer | null }>(
      'SELECT previous_secret_sealed AS previous FROM webhook_endpoints WHERE id = $1',
      [id],
    );
    expect(stored).toEqual({ previous: null });
    expect((await cli('rotate-secret', id!, '--no-grace')).out).toMatch(
      /^New signing secret for webhook wh_\S+ \(shown once\): whsec_\S+\nThe old secret no longer signs\.$/,
    );

    expect((await cli('disable', id!)).out).toBe(`Webhook ${id} disabled (acme: http://127.0.0.1:9/hook).`);
    expect((await cli('list')).out).toContain('disabled: disabled by an operator');
    expect((await cli('enable', id!)).out).toBe(`Webhook ${id} enabled (acme: http://127.0.0.1:9/hook).`);

    const deliveries = await cli('deliveries', '--endpoint', id!);
    expect(deliveries).toMatchObject({ status: 0 });
    expect(deliveries.out).toMatch(/^DELIVERY\s+ENDPOINT\s+EVENT\s+WEBHOOK-ID\s+STATUS\s+ATTEMPT/);

    const removed = await cli('remove', id!);
    expect(removed.out).toBe(
      `Removed webhook ${id} (acme: http://127.0.0.1:9/hook); its pending deliveries will not be sent.`,
    );
    const again = await cli('remove', id!);
    expect(again).toMatchObject({ status: 2 });
    expect(again.err).toBe(
      `clearcut webhooks remove: there is no webhook endpoint ${id} (see \`clearcut webhooks list\`)`,
    );
  });

  it('refuses malformed ids and limits', async () => {
    expect((await cli('remove', '42')).err).toBe(
      'clearcut webhooks remove: "42" is not a webhook endpoint id (wh_ and 16 characters, from `clearcut webhooks list`)',
    );
    expect((await cli('deliveries', '--limit', '0')).err).toBe(
      'clearcut webhooks deliveries: --limit "0" is not a whole number from 1 to 1000',
    );
    expect((await cli('nope')).status).toBe(2);
  });
});
