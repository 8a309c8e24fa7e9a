import type { KeyPurpose, SigningKey } from '../keys/signing-key.js';

/** What a caller may do; a signed request may do all a signing key may, a token what it was issued for. */
export const apiScopes = [
  'jobs:write',
  'jobs:read',
  'usage:read',
  'webhooks:write',
  'webhooks:read',
  'events:write',
] as const;
export type ApiScope = (typeof apiScopes)[number];

/** A signing key's scopes, and an event-source key's (POST /v1/events/s3 only). */
export const scopesByPurpose: Record<KeyPurpose, readonly ApiScope[]> = {
  signing: ['jobs:write', 'jobs:read', 'usage:read', 'webhooks:write', 'webhooks:read'],
  'event-source': ['events:write'],
};

export function isApiScope(text: string): text is ApiScope {
  return (apiScopes as readonly string[]).includes(text);
}

/** The verified caller of one request. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
  readonly scopes: ReadonlySet<ApiScope>;
  /** A signed request's nonce, held until its timestamp window closes; null for a bearer token. */
  readonly nonce: { readonly value: string; readonly expiresAt: Date } | null;
}

/** How the API finds a key: the key store (cached, dropped at once on revoke through NOTIFY). */
export type GetKey = (keyId: string) => Promise<SigningKey | undefined>;
