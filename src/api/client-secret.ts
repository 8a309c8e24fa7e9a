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

export async function verifyClientSecret(
  credentials: SecretCredentials,
  context: { readonly getKey: GetKey; readonly now: Date },
): Promise<{ client: Pick<Principal, 'tenantId' | 'keyId'> } | OAuthError> {
  const { clientId } = credentials;
  if (!isKeyId(clientId))
    return invalidClient('the client id must be an event-source key id (ck_live_… or ck_test_…)');
  const key = await context.getKey(clientId);
  if (key === undefined) return invalidClient(`no key ${clientId}`);
  if (key.purpose !== 'event-source' || key.algorithm !== 'hmac-sha256') {
    return invalidClient(
      `key ${clientId} is a signing key: it proves itself with a client assertion (client_secret_jwt or private_key_jwt) and never sends its secret; for an EventBridge connection make one with \`clearcut keys create --tenant ${key.tenantId} --purpose event-source\``,
    );
  }
  const refusal = keyRefusal(key, context.now);
  if (refusal) return invalidClient(refusal.rejection.message);
  let given: Buffer;
  try {
    const decoded = decodeSigningSecret(credentials.secret);
    if (decoded.algorithm !== 'hmac-sha256') throw new Error('not an HMAC secret');
    given = decoded.secret;
  } catch {
    return invalidClient(`the client secret is wrong for key ${clientId}`);
  }
  if (!timingSafeEqual(given, key.secret))
    return invalidClient(`the client secret is wrong for key ${clientId}`);
  return { client: { tenantId: key.tenantId, keyId: clientId } };
}
