import { timingSafeEqual } from 'node:crypto';
import { recordAudit } from '../audit/audit.js';
import type { Database, Queryable } from '../db/database.js';
import { PolicyStoreError } from '../tenants/errors.js';
import { keyChangesChannel } from './key-rows.js';
import { checkValueOf, shortCheckValue, storedCheckValue, writeCheckValue } from './master-key-check.js';
import { openSecret, SecretBoxError, sealSecret } from './secret-box.js';

// `clearcut keys reseal`: every HMAC secret moves from the old master key to the new one in ONE
// transaction, with the check value, so the stored secrets are never sealed under two keys.

export interface MasterKeys {
  readonly old: Buffer;
  readonly new: Buffer;
  /** How the old key was given, for messages (`--from-env OLD_VAR` names the variable). */
  readonly oldName: string;
}

export interface ResealResult {
  readonly resealed: number;
  /** The stored secrets were sealed under the new key already (a repeated run): nothing changed. */
  readonly alreadyDone: boolean;
  readonly checkValue: string;
}

/**
 * Other secrets sealed under the master key (webhook secrets, src/webhooks/reseal.ts), moved in the
 * same transaction: `move` opens with the old key and seals with the new one under the same label.
 */
export type ResealAlso = (tx: Queryable, move: (label: string, sealed: Buffer) => Buffer) => Promise<unknown>;

export async function resealSecrets(
  db: Database,
  keys: MasterKeys,
  also?: ResealAlso,
): Promise<ResealResult> {
  const oldCheck = checkValueOf(keys.old);
  const newCheck = checkValueOf(keys.new);
  if (timingSafeEqual(oldCheck, newCheck)) {
    throw new PolicyStoreError(
      'invalid_state',
      `${keys.oldName} and CLEARCUT_MASTER_KEY hold the same key; put the new key in CLEARCUT_MASTER_KEY`,
    );
  }
  const result = await db.transaction(async (tx) => {
    const stored = await storedCheckValue(tx, true);
    if (stored !== undefined && timingSafeEqual(stored, newCheck)) {
      return { keyIds: [], alreadyDone: true };
    }
    if (stored !== undefined && !timingSafeEqual(stored, oldCheck)) {
      throw new PolicyStoreError(
        'invalid_state',
        `${keys.oldName} is not the key that sealed the stored secrets (check value ${shortCheckValue(oldCheck)}, stored ${shortCheckValue(stored)}); nothing was changed`,
      );
    }
    const rows = await tx.query<{ keyId: string; ciphertext: Buffer }>(
      `SELECT key_id AS "keyId", secret_ciphertext AS ciphertext FROM api_keys
       WHERE secret_ciphertext IS NOT NULL ORDER BY key_id FOR UPDATE`,
    );
    const resealed = rows.map(({ keyId, ciphertext }) => {
      try {
        return sealSecret(keys.new, keyId, openSecret(keys.old, keyId, ciphertext));
      } catch (error) {
        if (!(error instanceof SecretBoxError)) throw error;
        throw new PolicyStoreError(
          'invalid_state',
          `the secret of key ${keyId} does not open under ${keys.oldName} (altered, or sealed under another key); nothing was changed`,
        );
      }
    });
    await tx.query(
      `UPDATE api_keys SET secret_ciphertext = resealed.ciphertext
       FROM unnest($1::text[], $2::bytea[]) AS resealed (key_id, ciphertext)
       WHERE api_keys.key_id = resealed.key_id`,
      [rows.map((row) => row.keyId), resealed],
    );
    await also?.(tx, (label, sealed) => sealSecret(keys.new, label, openSecret(keys.old, label, sealed)));
    await writeCheckValue(tx, newCheck);
    await recordAudit(tx, [
      { source: 'admin', outcome: 'master_key.resealed', detail: `${rows.length} HMAC secrets` },
    ]);
    return { keyIds: rows.map((row) => row.keyId), alreadyDone: false };
  });
  // Running key stores drop their copies: a gateway still on the old key then reports not ready.
  for (const keyId of result.keyIds) await db.notify(keyChangesChannel, keyId);
  return {
    resealed: result.keyIds.length,
    alreadyDone: result.alreadyDone,
    checkValue: shortCheckValue(newCheck),
  };
}
