import { admitBatch } from '../admission/admit.js';
import { type Decision, reject } from '../admission/decision.js';
import { nonceLedger } from '../admission/nonces.js';
import { recordDecisions } from '../admission/record.js';
import type { AdmissionRequest } from '../admission/request.js';
import type { Database, Queryable } from '../db/database.js';
import type { ModelCatalog } from '../models/catalog.js';
import { bodyDigest } from '../signing/index.js';
import { admittedDigest, recordIdempotency } from './idempotency-store.js';
import type { Principal } from './principal.js';

// POST /v1/jobs through the admission core, in ONE transaction with the idempotency record, so a
// job is admitted with its tasks or not at all. The Idempotency-Key is the job id: the same key
// with the same body answers the job admitted the first time; with another body it is a duplicate.

export type Submission =
  | { readonly kind: 'decided'; readonly decision: Decision }
  /** A retry of a request admitted before (same tenant, job id and body). */
  | { readonly kind: 'repeated' };

export interface SubmissionContext {
  readonly db: Database;
  readonly catalog: ModelCatalog;
  readonly now: Date;
}

export async function submitJob(
  principal: Principal,
  jobId: string,
  body: Buffer,
  context: SubmissionContext,
): Promise<Submission> {
  const ref = { tenantId: principal.tenantId, jobId };
  const digest = bodyDigest(body);
  const request: AdmissionRequest = {
    ...ref,
    keyId: principal.keyId,
    nonce: principal.nonce,
    body: { bytes: body },
    repeated: false,
    origin: { source: 'api' },
  };
  const submission = await context.db.transaction(async (tx): Promise<Submission> => {
    if ((await admittedDigest(tx, ref)) === digest) {
      // Even a retry spends its nonce: the same signed bytes twice are a replay.
      const replayed = principal.nonce !== null && (await nonceTaken(tx, principal, jobId, context.now));
      if (!replayed) return { kind: 'repeated' };
      const decision = reject(
        'replayed_nonce',
        `nonce ${principal.nonce!.value} was already used with key ${principal.keyId}`,
      );
      await recordDecisions(tx, [{ request, decision }], context.now);
      return { kind: 'decided', decision };
    }
    const [decision] = await admitBatch(tx, [request], {
      now: context.now,
      catalog: context.catalog,
      nonces: nonceLedger,
    });
    if (decision!.outcome === 'accepted') await recordIdempotency(tx, ref, digest);
    return { kind: 'decided', decision: decision! };
  });
  if (submission.kind === 'repeated') return submission;
  const { decision } = submission;
  const sameJobAgain =
    decision.outcome === 'redelivered' ||
    (decision.outcome === 'rejected' && decision.rejection.reason === 'duplicate');
  if (!sameJobAgain) return submission;
  // A concurrent twin committed first: the same body is the same request.
  if ((await admittedDigest(context.db, ref)) === digest) return { kind: 'repeated' };
  if (decision.outcome === 'rejected') return submission;
  return {
    kind: 'decided',
    decision: reject(
      'duplicate',
      `tenant ${ref.tenantId} already submitted job ${jobId} with another body; use a new Idempotency-Key for a new job`,
    ),
  };
}

async function nonceTaken(tx: Queryable, principal: Principal, jobId: string, now: Date): Promise<boolean> {
  const use = {
    keyId: principal.keyId,
    nonce: principal.nonce!.value,
    messageId: jobId,
    expiresAt: principal.nonce!.expiresAt,
  };
  return (await nonceLedger.record(tx, [use], now)).size > 0;
}
