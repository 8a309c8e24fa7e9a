import { keyIsUnderPrefix, objectKeyProblem, objectPrefixProblem } from '../contracts/object-keys.js';
import type { Queryable } from '../db/database.js';

export const grantAccesses = ['read', 'write'] as const;
export type GrantAccess = (typeof grantAccesses)[number];

/** Access to every object of `bucket` whose key starts with `prefix` ('' = the whole bucket, else a folder ending in '/'). */
export interface Grant {
  readonly bucket: string;
  readonly prefix: string;
  readonly access: GrantAccess;
}

/** One object (`key`) or every object under a prefix (a prefix input, an output location). */
export interface Location {
  readonly bucket: string;
  readonly key?: string;
  readonly prefix?: string;
}

export async function loadGrants(q: Queryable, tenantId: string): Promise<Grant[]> {
  return q.query<Grant>(
    'SELECT bucket, prefix, access FROM bucket_grants WHERE tenant_id = $1 ORDER BY bucket, prefix, access',
    [tenantId],
  );
}

/**
 * Pure: true when one grant of `access` covers the whole location. Read and write are separate rights;
 * the bucket matches exactly; a grant on `a/` covers `a/x` and `a/b/` but not `ab/x` nor `a`.
 */
export function allows(grants: readonly Grant[], location: Location, access: GrantAccess): boolean {
  const { key, prefix } = location;
  if ((key === undefined) === (prefix === undefined)) return false;
  const path = key ?? prefix!;
  // The job contract refuses ambiguous keys already; a grant check must not depend on that.
  if ((key !== undefined ? objectKeyProblem(key) : objectPrefixProblem(path)) !== undefined) return false;
  return grants.some(
    (grant) =>
      grant.access === access && grant.bucket === location.bucket && keyIsUnderPrefix(path, grant.prefix),
  );
}
