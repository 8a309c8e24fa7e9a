import type { AuditSource } from '../audit/audit.js';
import type { Queryable } from '../db/database.js';
import type { JobBody } from './job-plan.js';

/**
 * A request to run a job, from any front door (signed AMQP message, S3 event rule, HTTP), after
 * the door has established who sent it. Transport-free: no broker or HTTP types in here.
 */
export interface AdmissionRequest {
  /** The verified tenant: the door has checked the signature or the trigger rule's owner. */
  readonly tenantId: string;
  readonly jobId: string;
  /** The signing key; null for jobs made by an S3 trigger rule. */
  readonly keyId: string | null;
  /** Replay protection of a signed request: its nonce, held until `expiresAt`. */
  readonly nonce: { readonly value: string; readonly expiresAt: Date } | null;
  readonly body: JobBody;
  /**
   * The transport may have delivered this request before (a broker redelivery): an earlier
   * attempt may have admitted it, and then it is acknowledged quietly.
   */
  readonly repeated: boolean;
  /**
   * The caller waits for the result (POST /v1/remove): the job takes the priority lane whatever the
   * tenant's tier. Its quotas, grants and every other rule are the same.
   */
  readonly priorityLane?: boolean;
  /** For audit rows: which door, and what the request was about (prefixed to details and messages). */
  readonly origin: { readonly source: AuditSource; readonly context?: string };
}

/** One use of a signed request's nonce. */
export interface NonceUse {
  readonly keyId: string;
  readonly nonce: string;
  readonly messageId: string;
  readonly expiresAt: Date;
}

/**
 * Where a signing door keeps used nonces (src/admission/nonces.ts), passed in so the
 * core depends on no door.
 */
export interface NonceLedger {
  /** Records each use; returns, by `key(use)`, the message id already holding a nonce still in use. */
  record(tx: Queryable, uses: readonly NonceUse[], now: Date): Promise<Map<string, string>>;
  key(use: Pick<NonceUse, 'keyId' | 'nonce'>): string;
}
