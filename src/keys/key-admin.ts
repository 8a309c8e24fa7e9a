import { recordAudit } from '../audit/audit.js';
import type { Database, Queryable } from '../db/database.js';
import {
  generateSigningKey,
  type KeyAlgorithm,
  type KeyEnvironment,
  type NewSigningKey,
} from '../signing/keys.js';
import { PolicyStoreError } from '../tenants/errors.js';
import { requireTenant } from '../tenants/tenants.js';
import { keyChangesChannel } from './key-rows.js';
import { requireMatchingMasterKey } from './master-key-check.js';
import { sealSecret } from './secret-box.js';
import { type KeyPurpose, type KeyState, keyState } from './signing-key.js';

// What `clearcut keys` does. Every change is audited in the same transaction and announced on
// the key_changes channel after commit, so every running key store drops its cached copy.

/** A key as an admin sees it: everything except key material. */
export interface KeyInfo {
  readonly keyId: string;
  readonly tenantId: string;
  readonly purpose: KeyPurpose;
  readonly algorithm: KeyAlgorithm;
  readonly environment: KeyEnvironment;
  readonly state: KeyState;
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly rotatedFrom: string | null;
}

/** A new key and its secret (HMAC) or private key (Ed25519): the only time it exists outside the producer. */
export interface CreatedKey {
  readonly key: KeyInfo;
  readonly shownOnce: string;
}

export interface NewKeyOptions {
  readonly tenantId: string;
  /** Default `signing`; an `event-source` key must be HMAC. */
  readonly purpose?: KeyPurpose;
  readonly algorithm: KeyAlgorithm;
  readonly environment: KeyEnvironment;
  readonly expiresAt: Date | null;
}

const infoColumns = `key_id AS "keyId", tenant_id AS "tenantId", purpose, algorithm, environment,
  created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt", rotated_from AS "rotatedFrom"`;
type KeyRow = Omit<KeyInfo, 'state'>;
const withState = (row: KeyRow, now: Date): KeyInfo => ({ ...row, state: keyState(row, now) });

export async function createKey(
  db: Database,
  masterKey: Buffer,
  options: NewKeyOptions,
  now: Date = new Date(),
): Promise<CreatedKey> {
  const created = await db.transaction(async (tx) => {
    await requireTenant(tx, options.tenantId);
    await requireMatchingMasterKey(tx, masterKey);
    return insertKey(tx, masterKey, options, null, now);
  });
  await db.notify(keyChangesChannel, created.key.keyId);
  return created;
}

export async function listKeys(
  q: Queryable,
  { tenantId, now = new Date() }: { tenantId?: string; now?: Date } = {},
): Promise<KeyInfo[]> {
  const rows = await q.query<KeyRow>(
    `SELECT ${infoColumns} FROM api_keys WHERE $1::text IS NULL OR tenant_id = $1 ORDER BY tenant_id, created_at, key_id`,
    [tenantId ?? null],
  );
  return rows.map((row) => withState(row, now));
}

export interface RotateOptions {
  /** The old key keeps working this long, then expires (never later than it would have anyway). */
  readonly graceMs: number;
  /** Expiry of the new key; undefined: the same lifetime the old key had (none if it had none). */
  readonly expiresAt?: Date | null;
}

/** A new key for the same tenant, algorithm and environment; the old one expires at now + grace. */
export async function rotateKey(
  db: Database,
  masterKey: Buffer,
  keyId: string,
  { graceMs, expiresAt }: RotateOptions,
  now: Date = new Date(),
): Promise<{ previous: KeyInfo; created: CreatedKey }> {
  const result = await db.transaction(async (tx) => {
    const old = await lockedKey(tx, keyId, now);
    await requireMatchingMasterKey(tx, masterKey);
    if (old.state !== 'active') {
      throw new PolicyStoreError(
        'invalid_state',
        `key ${keyId} is ${old.state}; create a new key with \`clearcut keys create --tenant ${old.tenantId}\``,
      );
    }
    const [successor] = await tx.query<{ keyId: string }>(
      'SELECT key_id AS "keyId" FROM api_keys WHERE rotated_from = $1',
      [keyId],
    );
    if (successor !== undefined) {
      throw new PolicyStoreError('invalid_state', `key ${keyId} was already rotated to ${successor.keyId}`);
    }
    const lifetime = old.expiresAt === null ? null : old.expiresAt.getTime() - old.createdAt.getTime();
    const newExpiry =
      expiresAt !== undefined ? expiresAt : lifetime === null ? null : new Date(now.getTime() + lifetime);
    const graceEnd = new Date(now.getTime() + graceMs);
    const [previous] = await tx.query<KeyRow>(
      `UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, 'infinity'), $2)
       WHERE key_id = $1 RETURNING ${infoColumns}`,
      [keyId, graceEnd],
    );
    const created = await insertKey(
      tx,
      masterKey,
      {
        tenantId: old.tenantId,
        purpose: old.purpose,
        algorithm: old.algorithm,
        environment: old.environment,
        expiresAt: newExpiry,
      },
      keyId,
      now,
    );
    return { previous: withState(previous!, now), created };
  });
  await db.notify(keyChangesChannel, keyId);
  await db.notify(keyChangesChannel, result.created.key.keyId);
  return result;
}

/** Revokes at once; revoking a revoked key changes nothing and says so. */
export async function revokeKey(
  db: Database,
  keyId: string,
  now: Date = new Date(),
): Promise<{ key: KeyInfo; alreadyRevoked: boolean }> {
  const result = await db.transaction(async (tx) => {
    const old = await lockedKey(tx, keyId, now);
    if (old.revokedAt !== null) return { key: old, alreadyRevoked: true };
    const [row] = await tx.query<KeyRow>(
      `UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 RETURNING ${infoColumns}`,
      [keyId],
    );
    await recordAudit(tx, [{ source: 'admin', outcome: 'key.revoked', tenantId: old.tenantId, keyId }]);
    return { key: withState(row!, now), alreadyRevoked: false };
  });
  await db.notify(keyChangesChannel, keyId);
  return result;
}

async function lockedKey(tx: Queryable, keyId: string, now: Date): Promise<KeyInfo> {
  const [row] = await tx.query<KeyRow>(`SELECT ${infoColumns} FROM api_keys WHERE key_id = $1 FOR UPDATE`, [
    keyId,
  ]);
  if (row === undefined) {
    throw new PolicyStoreError('unknown_key', `key ${keyId} does not exist (see \`clearcut keys list\`)`);
  }
  return withState(row, now);
}

async function insertKey(
  tx: Queryable,
  masterKey: Buffer,
  options: NewKeyOptions,
  rotatedFrom: string | null,
  now: Date,
): Promise<CreatedKey> {
  const purpose = options.purpose ?? 'signing';
  if (purpose === 'event-source' && options.algorithm !== 'hmac-sha256') {
    throw new PolicyStoreError(
      'invalid_state',
      'an event-source key is an HMAC key: its secret is what the EventBridge connection sends',
    );
  }
  const generated: NewSigningKey = generateSigningKey(options.algorithm, options.environment);
  const [row] = await tx.query<KeyRow>(
    `INSERT INTO api_keys (key_id, tenant_id, algorithm, environment, secret_ciphertext, public_key, expires_at, rotated_from, purpose)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${infoColumns}`,
    [
      generated.keyId,
      options.tenantId,
      generated.algorithm,
      generated.environment,
      generated.algorithm === 'hmac-sha256' ? sealSecret(masterKey, generated.keyId, generated.secret) : null,
      generated.algorithm === 'ed25519' ? generated.publicKey : null,
      options.expiresAt,
      rotatedFrom,
      purpose,
    ],
  );
  await recordAudit(tx, [
    {
      source: 'admin',
      outcome: rotatedFrom === null ? 'key.created' : 'key.rotated',
      tenantId: options.tenantId,
      keyId: generated.keyId,
      detail:
        rotatedFrom === null
          ? `${generated.algorithm}${purpose === 'signing' ? '' : `, ${purpose}`}`
          : `replaces ${rotatedFrom}`,
    },
  ]);
  return { key: withState(row!, now), shownOnce: generated.shownOnce };
}
