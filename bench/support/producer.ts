import type { Config } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createKey } from '../../src/keys/key-admin.js';
import { requireMasterKey } from '../../src/keys/secret-box.js';
import type { OutboundMessage } from '../../src/queue/bus.js';
import { topologyNames } from '../../src/queue/topology.js';
import { decodeSigningSecret, type KeyAlgorithm, signJob } from '../../src/signing/index.js';

export type JobMessage = OutboundMessage & { readonly messageId: string };

export interface BenchProducer {
  readonly keyId: string;
  /** A job message for the jobs exchange, signed with the tenant's key (with a wrong signature when `forged`). */
  message(body: Buffer, options?: { forged?: boolean }): JobMessage;
}

/** A new key for `tenantId` (HMAC unless told) and messages signed with it, ids `<idPrefix>-1`, `-2`, ... */
export async function benchProducer(
  db: Database,
  config: Config,
  tenantId: string,
  idPrefix: string,
  algorithm: KeyAlgorithm = 'hmac-sha256',
): Promise<BenchProducer> {
  const created = await createKey(db, requireMasterKey(config.gateway.masterKey), {
    tenantId,
    algorithm,
    environment: 'test',
    expiresAt: null,
  });
  const secret = decodeSigningSecret(created.shownOnce);
  const exchange = topologyNames(config.broker.prefix).jobsExchange;
  let sent = 0;
  return {
    keyId: created.key.keyId,
    message(body, { forged = false } = {}) {
      const messageId = `${idPrefix}-${++sent}`;
      const { headers } = signJob({
        keyId: created.key.keyId,
        secret,
        messageId,
        contentType: 'application/json',
        body,
      });
      const real = headers['cc-signature'];
      // The same version and length, all zeros: well-formed, never valid.
      const signature = forged ? `${real.slice(0, 3)}${'0'.repeat(real.length - 3)}` : real;
      return {
        exchange,
        routingKey: '',
        body,
        messageId,
        headers: { ...headers, 'cc-signature': signature },
      };
    },
  };
}
