import type { SigningKey } from '../keys/signing-key.js';

/** What a caller may do; a signed request may do all of it, a token what it was issued for. */
export const apiScopes = ['jobs:write', 'jobs:read', 'usage:read'] as const;
export type ApiScope = (typeof apiScopes)[number];

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
