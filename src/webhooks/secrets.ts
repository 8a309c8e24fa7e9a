import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { openSecret, sealSecret } from '../keys/secret-box.js';

// Standard Webhooks secrets: `whsec_` + base64 of 32 random bytes, shown once, stored sealed under
// the master key (AES-256-GCM, src/keys/secret-box.ts) with the endpoint id as additional data, so
// a sealed secret copied onto another endpoint's row (or an API key's) does not open.

const secretBytes = 32;
const prefix = 'whsec_';

export function generateWebhookSecret(): string {
  return `${prefix}${randomBytes(secretBytes).toString('base64')}`;
}

/** The additional data a webhook secret is sealed with (exported for resealing). */
export const sealingLabel = (endpointId: string) => `webhook:${endpointId}`;

export function sealWebhookSecret(masterKey: Buffer, endpointId: string, secret: string): Buffer {
  return sealSecret(masterKey, sealingLabel(endpointId), Buffer.from(secret, 'utf8'));
}

export function openWebhookSecret(masterKey: Buffer, endpointId: string, sealed: Buffer): string {
  return openSecret(masterKey, sealingLabel(endpointId), sealed).toString('utf8');
}

/**
 * The webhook-signature header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each secret,
 * space-separated (during a rotation's grace period both the new and the old secret sign).
 */
export function signatureHeader(
  secrets: readonly string[],
  messageId: string,
  timestamp: Date,
  body: string,
): string {
  return secrets.map((secret) => new Webhook(secret).sign(messageId, timestamp, body)).join(' ');
}
