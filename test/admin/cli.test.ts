import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createDatabase } from '../../src/db/postgres.js';
import { runCli as clearcut } from '../support/cli.js';
import { createTestEnvironment, type TestEnvironment } from '../support/environment.js';

let environment: TestEnvironment;
let env: Environment;
let db: Database;
beforeAll(async () => {
  environment = await createTestEnvironment('admin_cli');
  env = environment.env;
  db = createDatabase(environment.config.database);
});
afterAll(async () => {
  await db.close();
  await environment.dispose();
});

describe('clearcut migrate', () => {
  it('says to migrate when the schema is not set up', async () => {
    const result = await clearcut(env, 'tenants', 'list');
    expect(result.status).toBe(1);
    expect(result.err).toContain('run `clearcut migrate` first');
  });

  it('applies the migrations, then reports the schema up to date', async () => {
    const first = await clearcut(env, 'migrate', '--json');
    expect(first.status).toBe(0);
    const { schema, applied } = JSON.parse(first.out) as { schema: string; applied: string[] };
    expect(schema).toBe(environment.schema);
    expect(applied).toContain('001_tenants.sql');
    expect(await clearcut(env, 'migrate')).toMatchObject({
      status: 0,
      out: `Schema ${environment.schema} is up to date.`,
    });
    expect((await clearcut(env, 'migrate', 'now')).status).toBe(2);
  });
});

describe('clearcut tenants', () => {
  it('creates, lists and re-tiers tenants', async () => {
    expect(await clearcut(env, 'tenants', 'create', 'acme', '--tier', 'pro')).toMatchObject({
      status: 0,
      out: 'Created tenant acme on tier pro.',
    });
    expect((await clearcut(env, 'tenants', 'create', 'globex')).out).toBe(
      'Created tenant globex on tier free.',
    );
    const listed = await clearcut(env, 'tenants', 'list');
    expect(listed.out).toMatch(/^TENANT\s+TIER\s+CREATED\nacme\s+pro\s+\S+Z\nglobex\s+free\s+\S+Z$/);
    expect((await clearcut(env, 'tenants', 'set-tier', 'globex', 'enterprise')).out).toBe(
      'Tenant globex: tier free → enterprise.',
    );
  });

  it('names what is wrong', async () => {
    expect(await clearcut(env, 'tenants', 'create', 'Acme Corp')).toMatchObject({
      status: 2,
      err: expect.stringContaining('tenant name "Acme Corp" must be 2–63 characters'),
    });
    expect(await clearcut(env, 'tenants', 'create', 'acme')).toMatchObject({
      status: 1,
      err: expect.stringContaining('tenant "acme" already exists'),
    });
    for (const command of [
      ['create', 'initech', '--tier', 'gold'],
      ['set-tier', 'acme', 'gold'],
    ]) {
      expect(await clearcut(env, 'tenants', ...command)).toMatchObject({
        status: 2,
        err: expect.stringContaining('unknown tier "gold": expected one of enterprise, free, pro, unlimited'),
      });
    }
    expect((await clearcut(env, 'tenants', 'set-tier', 'acme')).err).toContain(
      'expected NAME TIER, got "acme"',
    );
    expect((await clearcut(env, 'tenants', 'rename', 'acme')).err).toContain(
      'unknown subcommand "rename": expected one of create, list, set-tier',
    );
    expect((await clearcut(env, 'tenants', 'list', '--tier', 'pro')).status).toBe(2);
    expect(await clearcut(env, 'tenants')).toMatchObject({
      status: 2,
      err: expect.stringContaining('Usage: clearcut tenants create'),
    });
    expect(await clearcut(env, 'tenants', 'create', '--help')).toMatchObject({
      status: 0,
      out: expect.stringMatching(/^Usage: clearcut tenants create NAME/),
    });
  });
});

describe('clearcut keys', () => {
  it('prints the secret exactly once: no command and no table shows it afterwards', async () => {
    const created = await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--json');
    expect(created.status).toBe(0);
    const key = JSON.parse(created.out) as { keyId: string; secret: string; state: string };
    expect(key.secret).toMatch(/^cks_[A-Za-z0-9_-]{43}$/);
    expect(key.state).toBe('active');
    const secretBody = key.secret.slice(4);
    const secretHex = Buffer.from(secretBody, 'base64url').toString('hex');

    const afterwards = [
      await clearcut(env, 'keys', 'list'),
      await clearcut(env, 'keys', 'list', '--tenant', 'acme', '--json'),
      await clearcut(env, 'audit', '--json'),
      await clearcut(env, 'quota', 'show', '--tenant', 'acme', '--json'),
    ];
    for (const result of afterwards) {
      expect(result.status).toBe(0);
      expect(result.out + result.err).not.toContain(secretBody);
    }
    expect(afterwards[0]!.out).toContain(key.keyId);
    const [row] = await db.query<{ text: string }>(
      'SELECT row_to_json(k)::text AS text FROM api_keys k WHERE key_id = $1',
      [key.keyId],
    );
    expect(row!.text).not.toContain(secretBody);
    expect(row!.text).not.toContain(secretHex);
  });

  it('creates Ed25519 test keys with an expiry, in words for people', async () => {
    const created = await clearcut(
      env,
      'keys',
      'create',
      '--tenant',
      'acme',
      '--algo',
      'ed25519',
      '--env',
      'test',
      '--expires',
      '90d',
    );
    expect(created.status).toBe(0);
    expect(created.out).toMatch(
      /^Created key ck_test_\w{24} for tenant acme \(ed25519, test, expires \S+Z\)\./,
    );
    expect(created.out).toMatch(
      /Private key \(shown this once and never again; ClearCut keeps only the public key\):\ncked_/,
    );
  });

  it('rotates with a grace period and revokes', async () => {
    const { keyId } = JSON.parse(
      (await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--json')).out,
    ) as { keyId: string };
    const before = Date.now();
    const rotated = await clearcut(env, 'keys', 'rotate', keyId, '--grace', '1h', '--json');
    expect(rotated.status).toBe(0);
    const replacement = JSON.parse(rotated.out) as {
      keyId: string;
      secret: string;
      rotatedFrom: string;
      replaces: { keyId: string; expiresAt: string; state: string };
    };
    expect(replacement).toMatchObject({ rotatedFrom: keyId, replaces: { keyId, state: 'active' } });
    expect(replacement.secret).toMatch(/^cks_/);
    const graceEnd = Date.parse(replacement.replaces.expiresAt);
    expect(graceEnd).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(graceEnd).toBeLessThan(Date.now() + 3_600_000 + 1);

    expect(await clearcut(env, 'keys', 'revoke', replacement.keyId)).toMatchObject({
      status: 0,
      out: `Revoked key ${replacement.keyId} of tenant acme.`,
    });
    expect((await clearcut(env, 'keys', 'revoke', replacement.keyId)).out).toMatch(/was already revoked at/);
    const listed = await clearcut(env, 'keys', 'list', '--tenant', 'acme');
    expect(listed.out).toMatch(
      new RegExp(`${replacement.keyId}\\s+acme\\s+signing\\s+hmac-sha256\\s+live\\s+revoked`),
    );
  });

  it('creates an event-source key for an EventBridge connection, HMAC only', async () => {
    const created = await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--purpose', 'event-source');
    expect(created.status).toBe(0);
    expect(created.out).toMatch(/An EventBridge connection sends ck_live_\w{24} as its client ID/);
    const listed = await clearcut(env, 'keys', 'list', '--tenant', 'acme');
    expect(listed.out).toMatch(/ck_live_\w{24}\s+acme\s+event-source\s+hmac-sha256\s+live\s+active/);
    expect(
      (
        await clearcut(
          env,
          'keys',
          'create',
          '--tenant',
          'acme',
          '--purpose',
          'event-source',
          '--algo',
          'ed25519',
        )
      ).err,
    ).toMatch(/an event-source key is an HMAC key/);
    expect((await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--purpose', 'webhook')).err).toBe(
      'clearcut keys create: --purpose "webhook" is not one of signing, event-source',
    );
  });

  it('names what is wrong', async () => {
    expect(await clearcut(env, 'keys', 'create')).toMatchObject({
      status: 2,
      err: 'clearcut keys create: --tenant is required',
    });
    expect((await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--algo', 'rsa')).err).toBe(
      'clearcut keys create: --algo "rsa" is not one of hmac, hmac-sha256, ed25519',
    );
    expect((await clearcut(env, 'keys', 'create', '--tenant', 'acme', '--expires', 'soon')).err).toContain(
      '--expires "soon" is not a duration',
    );
    expect((await clearcut(env, 'keys', 'revoke', 'acme')).err).toContain('"acme" is not a key id');
    expect((await clearcut(env, 'keys', 'rotate', 'ck_live_000000000000000000000000')).err).toContain(
      'key ck_live_000000000000000000000000 does not exist',
    );
    expect(
      (await clearcut(env, 'keys', 'rotate', 'ck_live_000000000000000000000000', '--grace', '-1h')).status,
    ).toBe(2);
  });

  it('refuses to create a key without the master key, saying how to make one', async () => {
    const result = await clearcut({ ...env, CLEARCUT_MASTER_KEY: '' }, 'keys', 'create', '--tenant', 'acme');
    expect(result.status).toBe(78);
    expect(result.err).toContain('openssl rand -base64 32');
  });
});

describe('clearcut grants', () => {
  it('adds, lists and removes grants', async () => {
    const add = [
      'grants',
      'add',
      '--tenant',
      'acme',
      '--bucket',
      'catalog',
      '--prefix',
      'shoes/',
      '--access',
      'read',
    ];
    expect((await clearcut(env, ...add)).out).toBe('Granted acme read on s3://catalog/shoes/.');
    expect((await clearcut(env, ...add)).out).toBe('acme already has read on s3://catalog/shoes/.');
    await clearcut(env, 'grants', 'add', '--tenant', 'acme', '--bucket', 'cutouts', '--access', 'write');
    const listed = await clearcut(env, 'grants', 'list', '--tenant', 'acme', '--json');
    expect(JSON.parse(listed.out)).toEqual([
      { bucket: 'catalog', prefix: 'shoes/', access: 'read' },
      { bucket: 'cutouts', prefix: '', access: 'write' },
    ]);
    expect((await clearcut(env, 'grants', 'list', '--tenant', 'acme')).out).toContain('(whole bucket)');
    expect((await clearcut(env, 'grants', 'remove', ...add.slice(2))).out).toBe(
      'Removed read on s3://catalog/shoes/ from acme.',
    );
    expect((await clearcut(env, 'grants', 'remove', ...add.slice(2))).out).toContain('nothing removed');
  });

  it('names what is wrong', async () => {
    const base = ['grants', 'add', '--tenant', 'acme', '--bucket', 'catalog'];
    expect((await clearcut(env, ...base)).err).toBe('clearcut grants add: --access is required');
    expect((await clearcut(env, ...base, '--access', 'admin')).err).toBe(
      'clearcut grants add: --access "admin" is not one of read, write',
    );
    expect((await clearcut(env, ...base, '--access', 'read', '--prefix', 'shoes')).err).toContain(
      'did you mean "shoes/"?',
    );
    expect(
      (await clearcut(env, 'grants', 'add', '--tenant', 'acme', '--bucket', 'My_Bucket', '--access', 'read'))
        .status,
    ).toBe(2);
    expect(await clearcut(env, 'grants', 'list', '--tenant', 'nobody')).toMatchObject({
      status: 1,
      err: expect.stringContaining('tenant "nobody" does not exist'),
    });
  });
});

describe('clearcut quota', () => {
  it('sets overrides and shows where each limit comes from', async () => {
    const set = await clearcut(
      env,
      'quota',
      'set',
      '--tenant',
      'acme',
      '--images-per-day',
      '5',
      '--max-in-flight',
      'unlimited',
    );
    expect(set.status).toBe(0);
    expect(set.out).toMatch(/images-per-day\s+5\s+tenant/);
    expect(set.out).toMatch(/max-in-flight\s+unlimited\s+tenant/);
    expect(set.out).toMatch(/images-per-month\s+50000\s+tier pro/);
    await clearcut(env, 'quota', 'set', '--tenant', 'acme', '--images-per-day', 'default');
    const shown = JSON.parse((await clearcut(env, 'quota', 'show', '--tenant', 'acme', '--json')).out);
    expect(shown.overrides).toEqual({ maxInFlight: null });
    expect(shown.policy).toMatchObject({ tier: 'pro', imagesPerDay: 2000, maxInFlight: null });
    expect((await clearcut(env, 'quota', 'tiers')).out).toMatch(/^free\s+10\s+5\s+100\s/m);
  });

  it('names what is wrong', async () => {
    expect((await clearcut(env, 'quota', 'set', '--tenant', 'acme')).err).toContain('nothing to set');
    expect((await clearcut(env, 'quota', 'set', '--tenant', 'acme', '--burst', '0')).err).toBe(
      'clearcut quota set: --burst "0" must be a whole number from 1 to 2147483647, "unlimited" or "default"',
    );
    expect((await clearcut(env, 'quota', 'set', '--tenant', 'acme', '--images-per-day', '1e3')).status).toBe(
      2,
    );
    expect((await clearcut(env, 'quota', 'set', '--tenant', 'acme', '--burst', 'unlimited')).err).toContain(
      'set --jobs-per-minute and --burst together',
    );
    expect((await clearcut(env, 'quota', 'show')).err).toBe('clearcut quota show: --tenant is required');
  });
});

describe('clearcut audit', () => {
  it('lists admin changes per tenant and since a time', async () => {
    const rows = JSON.parse(
      (await clearcut(env, 'audit', '--tenant', 'acme', '--since', '1h', '--json')).out,
    ) as {
      outcome: string;
      tenantId: string;
    }[];
    expect(rows.map((row) => row.outcome)).toEqual(
      expect.arrayContaining([
        'tenant.created',
        'key.created',
        'key.rotated',
        'key.revoked',
        'grant.added',
        'quota.set',
      ]),
    );
    expect(rows.every((row) => row.tenantId === 'acme')).toBe(true);
    expect(
      JSON.parse((await clearcut(env, 'audit', '--since', '2999-01-01T00:00:00Z', '--json')).out),
    ).toEqual([]);
    const table = await clearcut(env, 'audit', '--tenant', 'globex');
    expect(table.out).toMatch(
      /^TIME\s+SOURCE\s+TENANT.*\n\S+Z\s+admin\s+globex\s+-\s+-\s+tenant\.created\s+-\s+tier free/,
    );
  });

  it('names what is wrong', async () => {
    expect((await clearcut(env, 'audit', '--since', 'yesterday')).err).toContain(
      '--since "yesterday" is not a duration',
    );
    expect((await clearcut(env, 'audit', '--since', '2030-13-45')).err).toContain('is not a valid ISO time');
    expect((await clearcut(env, 'audit', '--limit', '0')).status).toBe(2);
  });
});
