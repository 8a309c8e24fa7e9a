import type { Job } from '../contracts/job.js';
import type { RejectionReason } from '../contracts/reasons.js';

/** Why a request is not admitted: the stable code, a message for humans, and when to retry. */
export interface Rejection {
  readonly reason: RejectionReason;
  readonly message: string;
  readonly retryAfterSeconds?: number;
  /** invalid_body: one line per problem. */
  readonly problems?: readonly string[];
}

export interface AdmittedJob {
  readonly tenantId: string;
  readonly jobId: string;
  readonly keyId: string | null;
  /** Null for a prefix or manifest input: the count is known once the expander has listed it. */
  readonly items: number | null;
  readonly lane: 'normal' | 'priority';
  readonly model: string;
  readonly metadata?: Job['metadata'];
}

export type Decision =
  | { readonly outcome: 'accepted'; readonly job: AdmittedJob }
  | { readonly outcome: 'rejected'; readonly rejection: Rejection }
  /** A repeat (broker redelivery, second copy of an S3 event) of a request already admitted: say nothing new. */
  | { readonly outcome: 'redelivered' };

export type Rejected = Extract<Decision, { outcome: 'rejected' }>;

export function reject(
  reason: RejectionReason,
  message: string,
  extra: Pick<Rejection, 'retryAfterSeconds' | 'problems'> = {},
): Rejected {
  return { outcome: 'rejected', rejection: { reason, message, ...extra } };
}
