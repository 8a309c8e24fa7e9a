import { timingSafeEqual } from 'node:crypto';
import { keyRefusal } from '../admission/key-refusal.js';
import { decodeSigningSecret, isKeyId } from '../signing/index.js';
import type { OAuthError } from './client-assertion.js';
import type { GetKey, Principal } from './principal.js';

// RFC 6749 §2.3.1 client authentication by secret at POST /oauth/token, as an Amazon EventBridge
// connection (OAUTH_CLIENT_CREDENTIALS) does it: `client_secret_basic` (HTTP Basic with the
// form-urlencoded client id and secret) or `client_secret_post` (client_id and client_secret in
// the body). Only for event-source keys: a signing key's secret never travels.

export type SecretMethod = 'client_secret_basic' | 'client_secret_post';

export interface SecretCredentials {
  readonly method: SecretMethod;
  readonly clientId: string;
  readonly secret: string;
}

const invalidClient = (description: string): OAuthError => ({ error: 'invalid_client', description });

/** The credentials of an `Authorization: Basic` header; undefined without one. */
export function basicCredentials(
  authorization: string | undefined,
): SecretCredentials | OAuthError | undefined {
  if (authorization === undefined || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return invalidClient('the Basic credentials must be base64 of "client id:client secret"');
  try {
    const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return {
      method: 'client_secret_basic',
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return invalidClient('the Basic client id or secret is not valid form-urlencoding (RFC 6749 §2.3.1)');
  }
}

/**
 * The one answer to a client that failed to authenticate by secret, whatever the cause (unknown
 * key, wrong secret, a signing key, revoked or expired): the caller is not yet anyone, so it
 * learns nothing of our keys. The cause goes to the server log (SecretRefusal.detail).
 */
export const clientSecretRefused =
  'client authentication failed: the client id and secret must be those of an active event-source key (`clearcut keys create --purpose event-source`); a signing key authenticates with a client assertion instead (client_secret_jwt or private_key_jwt)';

/** A refused secret: the generic answer, and the cause for the server log only. */
export type SecretRefusal = OAuthError & { readonly detail: string };

const refused = (detail: string): SecretRefusal => ({
  error: 'invalid_client',
  description: clientSecretRefused,
  detail,
});

export async function verifyClientSecret(
  credentials: SecretCredentials,
  context: { readonly getKey: GetKey; readonly now: Date },
): Promise<{ client: Pick<Principal, 'tenantId' | 'keyId'> } | SecretRefusal> {
  const { clientId } = credentials;
  if (!isKeyId(clientId)) return refused('the client id is not a key id');
  const key = await context.getKey(clientId);
  if (key === undefined) return refused(`no key ${clientId}`);
  if (key.purpose !== 'event-source' || key.algorithm !== 'hmac-sha256') {
    return refused(`key ${clientId} (tenant ${key.tenantId}) is a signing key and sent its secret`);
  }
  const refusal = keyRefusal(key, context.now);
  if (refusal) return refused(refusal.rejection.message);
  let given: Buffer;
  try {
    const decoded = decodeSigningSecret(credentials.secret);
    if (decoded.algorithm !== 'hmac-sha256') throw new Error('not an HMAC secret');
    given = decoded.secret;
  } catch {
    return refused(`the client secret for key ${clientId} is not an HMAC secret (cks_…)`);
  }
  if (!timingSafeEqual(given, key.secret)) return refused(`the client secret is wrong for key ${clientId}`);
  return { client: { tenantId: key.tenantId, keyId: clientId } };
}
