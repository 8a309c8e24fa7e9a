import { storableText } from '../contracts/storable-text.js';
import type { Database } from '../db/database.js';
import { PermanentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BlobStore } from '../storage/blob-store.js';
import { enqueueWebhooks } from '../webhooks/outbox.js';
import {
  type CompletedJob,
  claimCompletedJob,
  markFinalized,
  renewFinalizeLease,
  unfinalizedJob,
} from './job-finalizer-store.js';
import { enqueueEvents } from './outbox.js';
import { createPollLoop, type PollLoop } from './poll-loop.js';
import { jobCompletedEvent, metadataOf } from './result-events.js';
import { resultsManifestContentType, resultsManifestKey, resultsManifestLines } from './results-manifest.js';
import { checkJobSpec, unreadableForGood } from './unreadable-jobs.js';

// When a job's last item ends (task-completion sets state = 'completed'), the finaliser writes the
// results manifest and THEN queues job.completed (and its webhooks), in a transaction that also
// marks the job finalised. It works from the database, not from the worker's call: a crash anywhere in between
// leaves the job completed-but-not-finalised, and a finaliser (in any gateway) picks it up again.

export interface FinalizerOptions {
  readonly db: Database;
  readonly store: BlobStore;
  readonly log: Logger;
  readonly idleMs: number;
  /** How long one finaliser owns a job; after a crash another one takes over once this passed. */
  readonly leaseMs: number;
  /** Bytes of the results manifest held in memory at once (one multipart part; at least 5 MiB). */
  readonly partBytes?: number;
  readonly onFinalized?: (job: CompletedJob, published: boolean) => void;
}

export function createJobFinalizer(options: FinalizerOptions): PollLoop {
  return createPollLoop({
    name: 'job finaliser',
    idleMs: options.idleMs,
    log: options.log,
    async step() {
      const { db, leaseMs, log } = options;
      const job = await claimCompletedJob(db, leaseMs);
      if (!job) return 0;
      // A million-item manifest can take longer to write than the lease lasts.
      const renewal = setInterval(() => {
        renewFinalizeLease(db, job, leaseMs).catch((error: unknown) =>
          log.warn({ err: error, job: job.jobId }, 'could not renew the finalising lease'),
        );
      }, leaseMs / 3);
      try {
        const published = await finalizeJob(options, job);
        options.onFinalized?.(job, published);
      } finally {
        clearInterval(renewal);
      }
      return 1;
    },
  });
}

/**
 * Writes the manifest of a completed job and queues job.completed; returns whether this call
 * queued the event (false when another finaliser already had). Safe to run concurrently and again
 * after a crash: the manifest's bytes are the same each time and only one transaction marks the job.
 */
export async function finalizeJob(
  options: Pick<FinalizerOptions, 'db' | 'store' | 'log' | 'partBytes'>,
  ref: { tenantId: string; jobId: string },
): Promise<boolean> {
  const { db, store, log } = options;
  const job = await unfinalizedJob(db, ref);
  if (!job) return false;
  const spec = checkJobSpec(job.spec, job);
  if (!spec.ok) {
    // Perhaps a newer gateway's job (its lease runs out, another finaliser takes it); by now, one
    // no process can read (its tasks failed as invalid_job): it names no output to write to.
    if (!unreadableForGood(job)) return false;
    return markAndQueue(db, job, undefined, storableText(`no results manifest: ${spec.problem}`).text, {});
  }
  const output = spec.value.output;
  const manifest = { bucket: output.bucket, key: resultsManifestKey(output.prefix, job.jobId) };
  const truncated =
    job.truncatedCode === null ? undefined : { code: job.truncatedCode, message: job.truncatedMessage ?? '' };
  let manifestError: string | undefined;
  try {
    // Streamed from the database to a multipart upload: a million-item job never sits in memory.
    const lines = resultsManifestLines(db, { ...ref, skipped: job.skipped, truncated });
    await store.putStream(manifest.bucket, manifest.key, inChunks(lines), {
      contentType: resultsManifestContentType,
      ...(options.partBytes === undefined ? {} : { partBytes: options.partBytes }),
    });
  } catch (error) {
    // Retrying cannot make a refused write work: the job still completes, without a manifest.
    if (!(error instanceof PermanentError)) throw error;
    manifestError = storableText(`${error.code}: ${error.message}`).text;
    log.warn({ err: error, tenant: job.tenantId, job: job.jobId }, 'results manifest not written');
  }
  const written = manifestError === undefined ? manifest : undefined;
  return markAndQueue(db, job, written, manifestError, metadataOf(spec.value));
}

/** Marks the job finalised and queues job.completed (and its webhooks); false when another finaliser had. */
function markAndQueue(
  db: Database,
  job: CompletedJob,
  manifest: { bucket: string; key: string } | undefined,
  manifestError: string | undefined,
  metadata: ReturnType<typeof metadataOf>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await markFinalized(tx, job, manifest, manifestError))) return false;
    const events = [
      jobCompletedEvent(
        {
          tenant: job.tenantId,
          jobId: job.jobId,
          total: job.total,
          succeeded: job.succeeded,
          failed: job.failed,
          manifest: manifest ?? null,
          ...metadata,
        },
        new Date(),
      ),
    ];
    await enqueueEvents(tx, events);
    await enqueueWebhooks(tx, events);
    return true;
  });
}

/** Lines joined into chunks of about 64 KiB, each line ended by "\n". */
async function* inChunks(lines: AsyncIterable<string>): AsyncGenerator<Buffer> {
  let chunk = '';
  for await (const line of lines) {
    chunk += `${line}\n`;
    if (chunk.length >= 64 * 1024) {
      yield Buffer.from(chunk);
      chunk = '';
    }
  }
  if (chunk !== '') yield Buffer.from(chunk);
}
