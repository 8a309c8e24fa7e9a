import { admitBatch } from '../admission/admit.js';
import { type Decision, reject } from '../admission/decision.js';
import { nonceLedger } from '../admission/nonces.js';
import { recordDecisions } from '../admission/record.js';
import type { AdmissionRequest } from '../admission/request.js';
import type { Database, Queryable } from '../db/database.js';
import { announceAdmissions } from '../jobs/admission-notices.js';
import type { ModelCatalog } from '../models/catalog.js';
import { bodyDigest } from '../signing/index.js';
import { admittedDigest, recordIdempotency } from './idempotency-store.js';
import type { Principal } from './principal.js';

// POST /v1/jobs through the admission core, in ONE transaction with the idempotency records, so a
// job is admitted with its tasks or not at all. The Idempotency-Key is the job id: the same key
// with the same body answers the job admitted the first time; with another body it is a duplicate.

export type Submission =
  | { readonly kind: 'decided'; readonly decision: Decision }
  /** A retry of a request admitted before (same tenant, job id and body). */
  | { readonly kind: 'repeated' };

export interface JobSubmission {
  readonly principal: Principal;
  readonly jobId: string;
  readonly body: Buffer;
  /** POST /v1/remove: the caller waits, so the job takes the priority lane (AdmissionRequest). */
  readonly priorityLane?: boolean;
}

export interface SubmissionContext {
  readonly db: Database;
  readonly catalog: ModelCatalog;
  readonly now: Date;
}

interface Prepared {
  readonly ref: { readonly tenantId: string; readonly jobId: string };
  readonly digest: string;
  readonly principal: Principal;
  readonly request: AdmissionRequest;
}

/** Decides several submissions in one transaction (one decision each, in order). */
export async function submitJobs(
  submissions: readonly JobSubmission[],
  context: SubmissionContext,
): Promise<Submission[]> {
  const prepared = submissions.map(prepare);
  const decided = await context.db.transaction(async (tx) => {
    const out: Submission[] = [];
    const fresh: number[] = [];
    for (const [index, p] of prepared.entries()) {
      if ((await admittedDigest(tx, p.ref)) === p.digest) out[index] = await retried(tx, p, context.now);
      else fresh.push(index);
    }
    const decisions = await admitBatch(
      tx,
      fresh.map((index) => prepared[index]!.request),
      { now: context.now, catalog: context.catalog, nonces: nonceLedger },
    );
    for (const [position, index] of fresh.entries()) {
      const decision = decisions[position]!;
      if (decision.outcome === 'accepted')
        await recordIdempotency(tx, prepared[index]!.ref, prepared[index]!.digest);
      out[index] = { kind: 'decided', decision };
    }
    return out;
  });
  if (
    decided.some((submission) => submission.kind === 'decided' && submission.decision.outcome === 'accepted')
  ) {
    // The job is admitted whatever becomes of the notice: without it, the next idle round takes it.
    await announceAdmissions(context.db).catch(() => {});
  }
  return Promise.all(decided.map((submission, index) => settled(submission, prepared[index]!, context.db)));
}

function prepare({ principal, jobId, body, priorityLane }: JobSubmission): Prepared {
  const ref = { tenantId: principal.tenantId, jobId };
  return {
    ref,
    digest: bodyDigest(body),
    principal,
    request: {
      ...ref,
      ...(priorityLane ? { priorityLane } : {}),
      keyId: principal.keyId,
      nonce: principal.nonce,
      body: { bytes: body },
      repeated: false,
      origin: { source: 'api' },
    },
  };
}

/** A retry of an admitted job; even a retry spends its nonce: the same signed bytes twice are a replay. */
async function retried(tx: Queryable, p: Prepared, now: Date): Promise<Submission> {
  const { principal } = p;
  if (principal.nonce === null) return { kind: 'repeated' };
  const use = {
    keyId: principal.keyId,
    nonce: principal.nonce.value,
    messageId: p.ref.jobId,
    expiresAt: principal.nonce.expiresAt,
  };
  if ((await nonceLedger.record(tx, [use], now)).size === 0) return { kind: 'repeated' };
  const decision = reject('replayed_nonce', `nonce ${use.nonce} was already used with key ${use.keyId}`);
  await recordDecisions(tx, [{ request: p.request, decision }], now);
  return { kind: 'decided', decision };
}

/** The same job again, after the transaction: a twin that committed first with the same body is the same request. */
async function settled(submission: Submission, p: Prepared, db: Database): Promise<Submission> {
  if (submission.kind === 'repeated') return submission;
  const { decision } = submission;
  const sameJobAgain =
    decision.outcome === 'redelivered' ||
    (decision.outcome === 'rejected' && decision.rejection.reason === 'duplicate');
  if (!sameJobAgain) return submission;
  if ((await admittedDigest(db, p.ref)) === p.digest) return { kind: 'repeated' };
  if (decision.outcome === 'rejected') return submission;
  return {
    kind: 'decided',
    decision: reject(
      'duplicate',
      `tenant ${p.ref.tenantId} already submitted job ${p.ref.jobId} with another body; use a new Idempotency-Key for a new job`,
    ),
  };
}
