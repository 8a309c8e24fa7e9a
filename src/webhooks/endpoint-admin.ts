import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit.js';
import type { WebhookEventType } from '../contracts/webhook-event.js';
import type { Database } from '../db/database.js';
import { requireMatchingMasterKey } from '../keys/master-key-check.js';
import { requireTenant } from '../tenants/tenants.js';
import type { AddressPolicy } from './address-policy.js';
import { type Lookup, resolveTarget } from './resolve-target.js';
import { generateWebhookSecret, sealWebhookSecret } from './secrets.js';
import { endpointColumns, getWebhookEndpoint, type WebhookEndpoint } from './store.js';
import { parseWebhookUrl, type UrlPolicy } from './webhook-url.js';

// What `clearcut webhooks add|remove|rotate-secret|enable` change. Every change is audited (source
// admin) in its transaction; a secret exists in clear text only in the return value, shown once.

export const maxEndpointsPerTenant = 20;

/** A refused change, with a message that says what to do. */
export class WebhookAdminError extends Error {
  constructor(
    readonly code: 'invalid_url' | 'refused_address' | 'unresolvable' | 'too_many_endpoints' | 'not_found',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookAdminError';
  }
}

export interface AddEndpoint {
  readonly tenantId: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
}

export interface TargetPolicy extends AddressPolicy, UrlPolicy {}

/** Who made a change, for the audit row: an operator (CLI) or a tenant's key over HTTP. */
export interface Actor {
  readonly source: 'admin' | 'api';
  readonly keyId?: string;
}

const operator: Actor = { source: 'admin' };

/** Checks the URL (shape, then every address it resolves to) and stores the endpoint. */
export async function addWebhookEndpoint(
  db: Database,
  masterKey: Buffer,
  policy: TargetPolicy,
  input: AddEndpoint,
  {
    lookup,
    resolveTimeoutMs,
    actor = operator,
  }: { lookup?: Lookup; resolveTimeoutMs?: number; actor?: Actor } = {},
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const url = parseWebhookUrl(input.url, policy);
  if (typeof url === 'string') throw new WebhookAdminError('invalid_url', url);
  try {
    await resolveTarget(url, policy, { lookup, timeoutMs: resolveTimeoutMs });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'refused_address' || code === 'unresolvable') {
      throw new WebhookAdminError(code, (error as Error).message);
    }
    throw error;
  }
  const id = `wh_${randomBytes(12).toString('base64url')}`;
  const secret = generateWebhookSecret();
  const endpoint = await db.transaction(async (tx) => {
    await requireTenant(tx, input.tenantId);
    await requireMatchingMasterKey(tx, masterKey);
    // One add per tenant at a time, so two cannot both count 19 and make 21. NO KEY UPDATE: it
    // does not wait for (or hold up) the key-share locks that inserting the tenant's jobs takes.
    await tx.query('SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE', [input.tenantId]);
    const [count] = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1',
      [input.tenantId],
    );
    if ((count?.n ?? 0) >= maxEndpointsPerTenant) {
      throw new WebhookAdminError(
        'too_many_endpoints',
        `${input.tenantId} has ${maxEndpointsPerTenant} webhook endpoints already, the most a tenant may have; remove one first`,
      );
    }
    const [row] = await tx.query<WebhookEndpoint>(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret_sealed)
       VALUES ($1, $2, $3, $4, $5) RETURNING ${endpointColumns}`,
      [id, input.tenantId, url.href, input.events, sealWebhookSecret(masterKey, id, secret)],
    );
    await recordAudit(tx, [
      { ...actor, tenantId: input.tenantId, outcome: 'webhook.added', detail: `${id} ${url.href}` },
    ]);
    return row!;
  });
  return { endpoint, secret };
}

/** Deletes the endpoint with its pending deliveries and log: nothing more is sent to it. */
export async function removeWebhookEndpoint(
  db: Database,
  id: string,
  actor = operator,
): Promise<WebhookEndpoint> {
  return db.transaction(async (tx) => {
    const endpoint = await requireEndpoint(tx, id);
    await tx.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
    await recordAudit(tx, [
      {
        ...actor,
        tenantId: endpoint.tenantId,
        outcome: 'webhook.removed',
        detail: `${id} ${endpoint.url}`,
      },
    ]);
    return endpoint;
  });
}

/**
 * A new secret; the old one keeps signing (as a second signature) for `graceMs`, so receivers
 * that still hold it keep verifying until they switch. With `graceMs` 0 the old one (and any
 * older one still in its grace) stops signing at once: the answer to a leaked secret.
 */
export async function rotateWebhookSecret(
  db: Database,
  masterKey: Buffer,
  id: string,
  graceMs: number,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const secret = generateWebhookSecret();
  const endpoint = await db.transaction(async (tx) => {
    await requireMatchingMasterKey(tx, masterKey);
    await requireEndpoint(tx, id);
    const [row] = await tx.query<WebhookEndpoint>(
      `UPDATE webhook_endpoints
       SET previous_secret_sealed = CASE WHEN $3::double precision > 0 THEN secret_sealed END,
           previous_secret_until = CASE WHEN $3::double precision > 0
             THEN now() + make_interval(secs => $3::double precision / 1000) END,
           secret_sealed = $2
       WHERE id = $1 RETURNING ${endpointColumns}`,
      [id, sealWebhookSecret(masterKey, id, secret), graceMs],
    );
    await recordAudit(tx, [
      {
        tenantId: row!.tenantId,
        source: 'admin',
        outcome: 'webhook.secret_rotated',
        detail: graceMs > 0 ? id : `${id} old secret dropped at once`,
      },
    ]);
    return row!;
  });
  return { endpoint, secret };
}

/** Turns a disabled endpoint on again (its failure counts start over) or off by hand. */
export async function setWebhookEndpointEnabled(
  db: Database,
  id: string,
  enabled: boolean,
): Promise<WebhookEndpoint> {
  return db.transaction(async (tx) => {
    await requireEndpoint(tx, id);
    const [row] = await tx.query<WebhookEndpoint>(
      `UPDATE webhook_endpoints
       SET disabled_at = CASE WHEN $2 THEN NULL ELSE COALESCE(disabled_at, now()) END,
           disabled_reason = CASE WHEN $2 THEN NULL ELSE COALESCE(disabled_reason, 'disabled by an operator') END,
           failing_since = NULL, failed_events = 0
       WHERE id = $1 RETURNING ${endpointColumns}`,
      [id, enabled],
    );
    await recordAudit(tx, [
      {
        tenantId: row!.tenantId,
        source: 'admin',
        outcome: enabled ? 'webhook.enabled' : 'webhook.disabled',
        detail: id,
      },
    ]);
    return row!;
  });
}

async function requireEndpoint(
  tx: Parameters<typeof getWebhookEndpoint>[0],
  id: string,
): Promise<WebhookEndpoint> {
  const endpoint = await getWebhookEndpoint(tx, id, { tenantId: null });
  if (!endpoint) {
    throw new WebhookAdminError(
      'not_found',
      `there is no webhook endpoint ${id} (see \`clearcut webhooks list\`)`,
    );
  }
  return endpoint;
}
