import { contentTypes } from '../contracts/renditions.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../log.js';
import type { ModelCatalog } from '../models/catalog.js';
import { bodyDigest } from '../signing/index.js';
import type { BlobStore } from '../storage/blob-store.js';
import { admittedDigest } from './idempotency-store.js';
import { type Submission, submitJobs } from './job-submission.js';
import type { Principal } from './principal.js';
import type { StagedJob } from './remove-staging.js';

// A POST /v1/remove job through the admission core, with its upload staged first: the task must
// find the upload once the transaction commits, and the S3 write stays outside the transaction,
// whose tenant rows the dispatchers of every tenant wait for. A refused call deletes its upload.

export interface RemoveAdmission {
  readonly principal: Principal;
  readonly jobId: string;
  readonly staged: StagedJob;
  readonly image: Buffer;
  readonly format: keyof typeof contentTypes;
}

export interface RemoveAdmissionDeps {
  readonly db: Database;
  readonly catalog: ModelCatalog;
  readonly store: BlobStore;
  readonly now: () => Date;
  readonly log: Logger;
}

export async function admitRemove(deps: RemoveAdmissionDeps, call: RemoveAdmission): Promise<Submission> {
  const ref = { tenantId: call.principal.tenantId, jobId: call.jobId };
  const digest = bodyDigest(call.staged.body);
  // A retry of an admitted call finds its upload staged already.
  if ((await admittedDigest(deps.db, ref)) !== digest) {
    await deps.store.put(call.staged.upload.bucket, call.staged.upload.key, call.image, {
      contentType: contentTypes[call.format],
    });
  }
  let submission: Submission | undefined;
  try {
    [submission] = await submitJobs(
      [{ principal: call.principal, jobId: call.jobId, body: call.staged.body, priorityLane: true }],
      { db: deps.db, catalog: deps.catalog, now: deps.now() },
    );
    return submission!;
  } finally {
    const refused = submission?.kind !== 'repeated' && submission?.decision.outcome !== 'accepted';
    if (refused) await withdraw(deps, ref, digest, call.staged);
  }
}

/**
 * Deletes the upload of a refused call, unless a job of the same id and body was admitted: the
 * upload's key is that job's, and an identical call admitted concurrently is decided before this
 * one (this one waits on its job or nonce row), so it is seen here. A delete that fails is logged;
 * the staging bucket's lifecycle rule takes the object then.
 */
async function withdraw(
  deps: RemoveAdmissionDeps,
  ref: { tenantId: string; jobId: string },
  digest: string,
  staged: StagedJob,
) {
  try {
    if ((await admittedDigest(deps.db, ref)) === digest) return;
    await deps.store.delete(staged.upload.bucket, staged.upload.key);
  } catch (error) {
    deps.log.warn({ err: error, upload: staged.upload }, 'a refused upload was not deleted from staging');
  }
}
