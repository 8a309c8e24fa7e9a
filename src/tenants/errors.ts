/** An admin operation (tenants, keys, grants, tiers) that names something absent, or collides with what exists. */
export class PolicyStoreError extends Error {
  constructor(
    readonly code: 'unknown_tenant' | 'unknown_tier' | 'unknown_key' | 'duplicate_tenant' | 'invalid_state',
    message: string,
  ) {
    super(message);
    this.name = 'PolicyStoreError';
  }
}

export function unknownTenant(tenantId: string): PolicyStoreError {
  return new PolicyStoreError(
    'unknown_tenant',
    `tenant "${tenantId}" does not exist (see \`clearcut tenants list\`)`,
  );
}
