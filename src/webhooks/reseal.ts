import type { Queryable } from '../db/database.js';
import { sealingLabel } from './secrets.js';

// Webhook secrets move to a new master key with the HMAC key secrets, in the same transaction
// (`clearcut keys reseal` passes this to resealSecrets): never some under one key, some under another.

/** Reseals every endpoint's secret (and a rotated-out one in its grace period) with `move`; returns how many endpoints. */
export async function resealWebhookSecrets(
  tx: Queryable,
  move: (label: string, sealed: Buffer) => Buffer,
): Promise<number> {
  const rows = await tx.query<{ id: string; current: Buffer; previous: Buffer | null }>(
    `SELECT id, secret_sealed AS current, previous_secret_sealed AS previous
     FROM webhook_endpoints ORDER BY id FOR UPDATE`,
  );
  for (const { id, current, previous } of rows) {
    const label = sealingLabel(id);
    await tx.query(
      'UPDATE webhook_endpoints SET secret_sealed = $2, previous_secret_sealed = $3 WHERE id = $1',
      [id, move(label, current), previous === null ? null : move(label, previous)],
    );
  }
  return rows.length;
}
