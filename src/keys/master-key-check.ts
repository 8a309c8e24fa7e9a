import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config.js';
import type { Queryable } from '../db/database.js';
import { openSecret, SecretBoxError } from './secret-box.js';

// A wrong CLEARCUT_MASTER_KEY must stop a process at start, naming the problem: otherwise every
// HMAC secret fails to open and every HMAC job looks like the producer's fault. The stored check
// value is a MAC of a fixed label under the key (it reveals nothing about the key).

const label = 'clearcut master key check v1';

export function checkValueOf(masterKey: Buffer): Buffer {
  return createHmac('sha256', masterKey).update(label).digest();
}

/** The first 8 hex digits, enough to tell two keys apart in a message. */
export const shortCheckValue = (value: Buffer): string => value.subarray(0, 4).toString('hex');

export class MasterKeyMismatchError extends ConfigError {
  constructor(given: Buffer, stored: Buffer | undefined, sealedKeyId?: string) {
    const what =
      stored === undefined
        ? `the secret of key ${sealedKeyId} does not open under it (check value ${shortCheckValue(given)})`
        : `check value ${shortCheckValue(given)}, stored ${shortCheckValue(stored)}`;
    super([
      `CLEARCUT_MASTER_KEY does not match the key that sealed the stored secrets (${what}); set the right key or run \`clearcut keys reseal\``,
    ]);
    this.name = 'MasterKeyMismatchError';
  }
}

/** The stored check value; `lock` holds its row until the transaction ends. */
export async function storedCheckValue(q: Queryable, lock = false): Promise<Buffer | undefined> {
  const [row] = await q.query<{ value: Buffer }>(
    `SELECT check_value AS value FROM master_key_check${lock ? ' FOR UPDATE' : ''}`,
  );
  return row?.value;
}

export async function writeCheckValue(q: Queryable, value: Buffer): Promise<void> {
  await q.query(
    `INSERT INTO master_key_check (check_value) VALUES ($1)
     ON CONFLICT (singleton) DO UPDATE SET check_value = EXCLUDED.check_value, updated_at = now()`,
    [value],
  );
}

/** Whether the stored check value (if any) is `masterKey`'s: false once secrets were resealed under another key. */
export async function matchesStoredCheckValue(q: Queryable, masterKey: Buffer): Promise<boolean> {
  const stored = await storedCheckValue(q);
  return stored === undefined || timingSafeEqual(stored, checkValueOf(masterKey));
}

/**
 * Throws MasterKeyMismatchError unless `masterKey` is the key the stored secrets are sealed with.
 * On first use it records the key's check value, after proving on a stored secret (a deployment
 * from before the check existed) that the key opens it: a wrong key is never recorded.
 */
export async function requireMatchingMasterKey(q: Queryable, masterKey: Buffer): Promise<void> {
  const mine = checkValueOf(masterKey);
  const matches = (stored: Buffer) => timingSafeEqual(stored, mine);
  const stored = await storedCheckValue(q);
  if (stored !== undefined) {
    if (!matches(stored)) throw new MasterKeyMismatchError(mine, stored);
    return;
  }
  const [sealed] = await q.query<{ keyId: string; ciphertext: Buffer }>(
    `SELECT key_id AS "keyId", secret_ciphertext AS ciphertext FROM api_keys
     WHERE secret_ciphertext IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
  );
  if (sealed !== undefined) {
    try {
      openSecret(masterKey, sealed.keyId, sealed.ciphertext);
    } catch (error) {
      if (error instanceof SecretBoxError) throw new MasterKeyMismatchError(mine, undefined, sealed.keyId);
      throw error;
    }
  }
  await q.query('INSERT INTO master_key_check (check_value) VALUES ($1) ON CONFLICT DO NOTHING', [mine]);
  // Another process may have recorded its key first.
  const recorded = await storedCheckValue(q);
  if (recorded === undefined || !matches(recorded)) throw new MasterKeyMismatchError(mine, recorded);
}
