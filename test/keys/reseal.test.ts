import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/keys/key-admin.js';
import { loadSigningKey } from '../../src/keys/key-rows.js';
import { checkValueOf } from '../../src/keys/master-key-check.js';
import { resealSecrets } from '../../src/keys/reseal.js';
import { SecretBoxError } from '../../src/keys/secret-box.js';
import { decodeSigningSecret } from '../../src/signing/index.js';
import { type MigratedDatabase, migratedDatabase } from '../policy/migrated-database.js';
import { runCli } from '../support/cli.js';

// `clearcut keys reseal`: every HMAC secret moves to a new master key in one transaction, or
// nothing moves.

let store: MigratedDatabase;
let tenant: string;
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const hmacSecrets = new Map<string, Buffer>();

beforeAll(async () => {
  store = await migratedDatabase('keys-reseal');
  tenant = await store.tenant();
  for (const algorithm of ['hmac-sha256', 'hmac-sha256', 'ed25519'] as const) {
    const created = await createKey(store.db, keyA, {
      tenantId: tenant,
      algorithm,
      environment: 'live',
      expiresAt: null,
    });
    if (algorithm === 'hmac-sha256') {
      const decoded = decodeSigningSecret(created.shownOnce);
      if (decoded.algorithm === 'hmac-sha256') hmacSecrets.set(created.key.keyId, decoded.secret);
    }
  }
});
afterAll(async () => store?.dispose());

const sealed = async () =>
  store.db.query<{ keyId: string; ciphertext: Buffer | null }>(
    'SELECT key_id AS "keyId", secret_ciphertext AS ciphertext FROM api_keys ORDER BY key_id',
  );
const storedCheck = async () =>
  (await store.db.query<{ value: Buffer }>('SELECT check_value AS value FROM master_key_check'))[0]?.value;
const env = (old: Buffer | undefined, current: Buffer) => ({
  ...store.environment.env,
  CLEARCUT_MASTER_KEY: current.toString('base64'),
  ...(old === undefined ? {} : { OLD_MASTER_KEY: old.toString('base64') }),
});

describe('keys reseal', () => {
  it('is refused, changing nothing, when the old key is not the sealing key or is the new key', async () => {
    const before = await sealed();
    await expect(
      resealSecrets(store.db, { old: keyB, new: randomBytes(32), oldName: 'OLD' }),
    ).rejects.toThrow(
      /OLD is not the key that sealed the stored secrets \(check value [0-9a-f]{8}, stored [0-9a-f]{8}\); nothing was changed/,
    );
    await expect(resealSecrets(store.db, { old: keyA, new: keyA, oldName: 'OLD' })).rejects.toThrow(
      /OLD and CLEARCUT_MASTER_KEY hold the same key/,
    );
    expect(await sealed()).toEqual(before);
    expect(await storedCheck()).toEqual(checkValueOf(keyA));
  });

  it('aborts the whole move when one stored secret does not open, naming the key', async () => {
    const [victim] = [...hmacSecrets.keys()];
    const [original] = await store.db.query<{ ciphertext: Buffer }>(
      'SELECT secret_ciphertext AS ciphertext FROM api_keys WHERE key_id = $1',
      [victim],
    );
    const altered = Buffer.from(original!.ciphertext);
    altered[altered.length - 1]! ^= 1;
    await store.db.query('UPDATE api_keys SET secret_ciphertext = $2 WHERE key_id = $1', [victim, altered]);
    const before = await sealed();
    await expect(resealSecrets(store.db, { old: keyA, new: keyB, oldName: 'OLD' })).rejects.toThrow(
      `the secret of key ${victim} does not open under OLD (altered, or sealed under another key); nothing was changed`,
    );
    expect(await sealed()).toEqual(before);
    await store.db.query('UPDATE api_keys SET secret_ciphertext = $2 WHERE key_id = $1', [
      victim,
      original!.ciphertext,
    ]);
  });

  it('`clearcut keys reseal --from-env` moves every HMAC secret and the check value; a rerun changes nothing', async () => {
    const before = await sealed();
    const run = await runCli(env(keyA, keyB), 'keys', 'reseal', '--from-env', 'OLD_MASTER_KEY');
    expect(run.err).toBe('');
    expect(run.out).toContain(
      `Resealed 2 HMAC secrets under CLEARCUT_MASTER_KEY (check value ${checkValueOf(keyB).subarray(0, 4).toString('hex')})`,
    );
    expect(run.status).toBe(0);

    for (const [keyId, secret] of hmacSecrets) {
      const loaded = await loadSigningKey(store.db, keyB, keyId);
      expect(loaded).toMatchObject({ algorithm: 'hmac-sha256', secret });
      await expect(loadSigningKey(store.db, keyA, keyId)).rejects.toBeInstanceOf(SecretBoxError);
    }
    const after = await sealed();
    const ed25519 = (rows: typeof after) => rows.filter((row) => !hmacSecrets.has(row.keyId));
    expect(ed25519(after)).toEqual(ed25519(before));
    expect(await storedCheck()).toEqual(checkValueOf(keyB));
    const audit = await store.db.query('SELECT outcome, detail FROM audit_log WHERE outcome = $1', [
      'master_key.resealed',
    ]);
    expect(audit).toEqual([{ outcome: 'master_key.resealed', detail: '2 HMAC secrets' }]);

    const again = await runCli(env(keyA, keyB), 'keys', 'reseal', '--from-env', 'OLD_MASTER_KEY', '--json');
    expect(JSON.parse(again.out)).toMatchObject({ resealed: 0, alreadyDone: true });
    expect(await sealed()).toEqual(after);
  });

  it('asks for the NAME of a variable holding a valid key', async () => {
    const self = await runCli(env(keyA, keyB), 'keys', 'reseal', '--from-env', 'CLEARCUT_MASTER_KEY');
    expect(self.status).toBe(2);
    expect(self.err).toMatch(/--from-env takes the NAME of the variable holding the old key/);
    const unset = await runCli(env(undefined, keyB), 'keys', 'reseal', '--from-env', 'OLD_MASTER_KEY');
    expect(unset.status).toBe(78);
    expect(unset.err).toMatch(/OLD_MASTER_KEY is not set/);
  });
});
