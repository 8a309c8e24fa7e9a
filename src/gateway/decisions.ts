import type { Decision } from '../admission/decision.js';
import type { Delivery } from '../queue/bus.js';

/**
 * Who a message claims to be from, as far as it could be read; used for events and audit rows.
 * `tenantId` is set only once the signature verified: a claim alone never names a tenant.
 */
export interface Sender {
  /** The job id when the message_id property is a valid one. */
  readonly messageId?: string;
  readonly keyId?: string;
  readonly tenantId?: string;
}

export interface Decided {
  readonly delivery: Delivery;
  readonly sender: Sender;
  readonly decision: Decision;
}
