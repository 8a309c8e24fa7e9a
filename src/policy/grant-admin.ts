import { recordAudit } from '../audit/audit.js';
import { bucketNameProblem, objectPrefixProblem } from '../contracts/object-keys.js';
import type { Database } from '../db/database.js';
import { requireTenant } from '../tenants/tenants.js';
import type { Grant } from './grants.js';

/** Why a grant cannot be stored as given, or undefined. */
export function grantProblem(grant: Grant): string | undefined {
  const bucket = bucketNameProblem(grant.bucket);
  if (bucket !== undefined) return `bucket "${grant.bucket}" ${bucket}`;
  const prefix = objectPrefixProblem(grant.prefix);
  if (prefix !== undefined) return `prefix "${grant.prefix}" ${prefix}`;
  // A prefix is a folder: a grant on "a" would also cover "ab/...", which nobody means.
  if (grant.prefix !== '' && !grant.prefix.endsWith('/')) {
    return `prefix "${grant.prefix}" must end with "/" (a grant covers a folder; did you mean "${grant.prefix}/"?)`;
  }
  return undefined;
}

/** False when the tenant already had exactly this grant. */
export async function addGrant(db: Database, tenantId: string, grant: Grant): Promise<boolean> {
  return db.transaction(async (tx) => {
    await requireTenant(tx, tenantId);
    const added = await tx.query(
      `INSERT INTO bucket_grants (tenant_id, bucket, prefix, access) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [tenantId, grant.bucket, grant.prefix, grant.access],
    );
    if (added.length > 0) await recordAudit(tx, [grantAudit('grant.added', tenantId, grant)]);
    return added.length > 0;
  });
}

/** False when the tenant had no such grant. Only the exact grant goes: narrower or wider ones stay. */
export async function removeGrant(db: Database, tenantId: string, grant: Grant): Promise<boolean> {
  return db.transaction(async (tx) => {
    const removed = await tx.query(
      'DELETE FROM bucket_grants WHERE tenant_id = $1 AND bucket = $2 AND prefix = $3 AND access = $4 RETURNING 1',
      [tenantId, grant.bucket, grant.prefix, grant.access],
    );
    if (removed.length > 0) await recordAudit(tx, [grantAudit('grant.removed', tenantId, grant)]);
    return removed.length > 0;
  });
}

function grantAudit(outcome: string, tenantId: string, grant: Grant) {
  return {
    source: 'admin' as const,
    outcome,
    tenantId,
    detail: `${grant.access} s3://${grant.bucket}/${grant.prefix}`,
  };
}
