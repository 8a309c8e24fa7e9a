import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkValueOf, MasterKeyMismatchError } from '../../src/keys/master-key-check.js';
import { resealSecrets } from '../../src/keys/reseal.js';
import { createGatewayHarness, type GatewayHarness, jobBody } from '../gateway/harness.js';
import { runCli } from '../support/cli.js';
import { until } from '../support/until.js';

// A wrong CLEARCUT_MASTER_KEY used to make every HMAC secret fail to open, and every HMAC job was
// rejected as `invalid_body`, the producer's fault. Now a wrong key stops the gateway (and the key
// admin) at start, and a secret that stops opening at run time holds the job for the operator.

const mismatch =
  /CLEARCUT_MASTER_KEY does not match the key that sealed the stored secrets \(.*\); set the right key or run `clearcut keys reseal`/;
let h: GatewayHarness;
let tenant: string;

beforeAll(async () => {
  h = await createGatewayHarness('master-key-check');
  tenant = await h.tenant();
  await h.grant(tenant, 'in-m', 'photos/', 'read');
  await h.grant(tenant, 'out-m', '', 'write');
});
afterAll(async () => h?.dispose());

const otherKey = () => randomBytes(32).toString('base64');
const storedCheck = async () =>
  (await h.db.query<{ value: Buffer }>('SELECT check_value AS value FROM master_key_check'))[0]?.value;
const auditOf = (messageId: string) =>
  h.db.query<{ outcome: string; reason: string | null }>(
    'SELECT outcome, reason FROM audit_log WHERE message_id = $1 ORDER BY id',
    [messageId],
  );

describe('at start', () => {
  it('records the check value of the first master key used, and refuses a gateway with another', async () => {
    await h.key(tenant);
    expect(await storedCheck()).toEqual(checkValueOf(h.masterKey));
    const started = h.startGateway({ CLEARCUT_MASTER_KEY: otherKey() });
    await expect(started).rejects.toBeInstanceOf(MasterKeyMismatchError);
    await expect(started).rejects.toThrow(mismatch);
    await expect(started).rejects.toThrow(/check value [0-9a-f]{8}, stored [0-9a-f]{8}/);
  });

  it('before any check value exists, proves a new key on a stored secret and never records a wrong one', async () => {
    await h.db.query('DELETE FROM master_key_check');
    await expect(h.startGateway({ CLEARCUT_MASTER_KEY: otherKey() })).rejects.toThrow(
      /the secret of key ck_test_\w+ does not open under it/,
    );
    expect(await storedCheck()).toBeUndefined();
    const gateway = await h.startGateway();
    await gateway.stop();
    expect(await storedCheck()).toEqual(checkValueOf(h.masterKey));
  });

  it('`clearcut keys create` with another master key is refused and seals nothing', async () => {
    const before = await h.db.query('SELECT key_id FROM api_keys');
    const run = await runCli(
      { ...h.environment.env, CLEARCUT_MASTER_KEY: otherKey() },
      'keys',
      'create',
      '--tenant',
      tenant,
    );
    expect(run.status).toBe(78);
    expect(run.err).toMatch(mismatch);
    expect(await h.db.query('SELECT key_id FROM api_keys')).toEqual(before);
  });
});

describe('at run time', () => {
  it('a secret that stops opening holds the job and makes /readyz false; it is decided once the key is right', async () => {
    const key = await h.key(tenant);
    const oldGateway = await h.startGateway();
    const readyz = () => fetch(`http://127.0.0.1:${oldGateway.httpPort}/readyz`);
    expect((await readyz()).status).toBe(200);

    // Another admin moves the secrets to a new master key under the running gateway.
    const newKey = otherKey();
    await resealSecrets(h.db, {
      old: h.masterKey,
      new: Buffer.from(newKey, 'base64'),
      oldName: 'OLD_MASTER_KEY',
    });
    // Not ready at once, before any HMAC job arrives: the stored check value is another key's.
    await until(async () => (await readyz()).status === 503, {
      what: '/readyz to report the resealed secrets',
    });
    expect(await (await readyz()).text()).toMatch(/signingKeys/);
    const message = h.signed(key, jobBody('in-m', ['photos/1.jpg'], { bucket: 'out-m', prefix: 'cut/' }));
    await h.publish(message);
    // The old gateway takes it; whatever it decides before it stops would be audited.
    await until(async () => (await h.broker.depth(h.broker.names.jobsQueue)) === 0, {
      what: 'the gateway to take the message',
    });
    // Held, not decided: no rejection, no audit row.
    expect(await auditOf(message.messageId)).toEqual([]);

    // The operator starts a gateway with the new key and stops the old one: the job goes back to
    // the queue and is admitted.
    await h.startGateway({ CLEARCUT_MASTER_KEY: newKey });
    await oldGateway.stop();
    expect(await h.decision(message.messageId)).toMatchObject({ kind: 'accepted' });
    expect(await auditOf(message.messageId)).toEqual([{ outcome: 'accepted', reason: null }]);
  });
});
