import type { Queryable } from '../db/database.js';
import { decodePublicKey, type KeyAlgorithm, type KeyEnvironment } from '../signing/keys.js';
import { openSecret } from './secret-box.js';
import type { KeyPurpose, SigningKey } from './signing-key.js';

/** NOTIFY channel on which every create, rotate and revoke announces the key id. */
export const keyChangesChannel = 'key_changes';

interface KeyRow {
  keyId: string;
  tenantId: string;
  purpose: KeyPurpose;
  algorithm: KeyAlgorithm;
  environment: KeyEnvironment;
  secretCiphertext: Buffer | null;
  publicKey: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** The key with its secret opened (HMAC) or public key decoded (Ed25519); undefined when unknown. */
export async function loadSigningKey(
  q: Queryable,
  masterKey: Buffer,
  keyId: string,
): Promise<SigningKey | undefined> {
  const [row] = await q.query<KeyRow>(
    `SELECT key_id AS "keyId", tenant_id AS "tenantId", purpose, algorithm, environment,
            secret_ciphertext AS "secretCiphertext", public_key AS "publicKey",
            created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt"
     FROM api_keys WHERE key_id = $1`,
    [keyId],
  );
  if (row === undefined) return undefined;
  const { secretCiphertext, publicKey, ...common } = row;
  if (row.algorithm === 'hmac-sha256') {
    return { ...common, algorithm: 'hmac-sha256', secret: openSecret(masterKey, keyId, secretCiphertext!) };
  }
  return { ...common, algorithm: 'ed25519', publicKey: decodePublicKey(publicKey!) };
}
