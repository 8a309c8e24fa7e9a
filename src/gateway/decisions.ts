import type { Job } from '../contracts/job.js';
import type { RejectionReason } from '../contracts/reasons.js';
import type { Delivery } from '../queue/bus.js';

/** Why a message is not admitted: the stable code, a message for humans, and when to retry. */
export interface Rejection {
  readonly reason: RejectionReason;
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /** invalid_body: one line per problem. */
  readonly problems?: readonly string[];
}

/** Who a message claims to be from, as far as it could be read; used for events and audit rows. */
export interface Sender {
  /** The job id when the message_id property is a valid one. */
  readonly messageId?: string;
  readonly keyId?: string;
  readonly tenantId?: string;
}

export interface AdmittedJob {
  readonly tenantId: string;
  readonly jobId: string;
  readonly keyId: string;
  /** Null for a prefix or manifest input: the count is known once the expander has listed it. */
  readonly items: number | null;
  readonly lane: 'normal' | 'priority';
  readonly model: string;
  readonly metadata?: Job['metadata'];
}

export type Decision =
  | { readonly outcome: 'accepted'; readonly job: AdmittedJob }
  | { readonly outcome: 'rejected'; readonly rejection: Rejection }
  /** A broker redelivery of a message this gateway (or another) already admitted: ack, say nothing new. */
  | { readonly outcome: 'redelivered' };

export interface Decided {
  readonly delivery: Delivery;
  readonly sender: Sender;
  readonly decision: Decision;
}

export function reject(
  reason: RejectionReason,
  message: string,
  extra: Pick<Rejection, 'retryAfterSeconds' | 'problems'> = {},
): Decision {
  return { outcome: 'rejected', rejection: { reason, message, ...extra } };
}
