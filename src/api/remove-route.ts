import { randomUUID } from 'node:crypto';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { messageIdPattern } from '../contracts/identifiers.js';
import { contentTypes } from '../contracts/renditions.js';
import { PermanentError } from '../errors.js';
import type { ImageLimits } from '../images/decode.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AuthOptions } from './authenticate.js';
import { bodyOf, principalOf } from './authenticate.js';
import type { Answer, jobAcceptedSchema } from './contracts.js';
import type { Submission } from './job-submission.js';
import { ProblemError, problem, rejectionProblem } from './problems.js';
import { admitRemove, type RemoveAdmissionDeps } from './remove-admission.js';
import { createDecodeSlots, DecodeLineFull, type DecodeSlots } from './remove-decode-slots.js';
import { type RemoveOptions, readRemoveOptions } from './remove-options.js';
import { type StagedJob, type StagingArea, stagedJob } from './remove-staging.js';
import { checkImage, readUpload } from './remove-upload.js';
import { type ItemOutcome, waitForItem } from './remove-wait.js';

// POST /v1/remove: one image in, its rendition out, run by the worker fleet as a one-item job
// through the admission core (grants, quotas, reason codes, audit) on the priority lane. The upload
// is staged in S3 before admission and deleted again when the call is refused (remove-admission.ts);
// the call waits up to CLEARCUT_API_REMOVE_WAIT, then answers 202 like POST /v1/jobs. One process
// holds at most CLEARCUT_API_REMOVE_CONCURRENCY calls (each with its body until the upload is
// staged); one more is answered 503 busy before its body is read.

export interface RemoveSettings {
  readonly store: BlobStore;
  readonly staging: StagingArea;
  readonly waitMs: number;
  readonly maxBodyBytes: number;
  /** Calls held at once (CLEARCUT_API_REMOVE_CONCURRENCY). */
  readonly concurrency: number;
  /** The worker's input limits (maxInputBytes at most maxBodyBytes). */
  readonly limits: ImageLimits;
}

/** The admission's needs but the staging store, which comes with the settings. */
export interface RemoveRouteDeps extends Omit<RemoveAdmissionDeps, 'store'> {
  readonly authenticate: (options: AuthOptions) => preHandlerAsyncHookHandler;
  /** Undefined when CLEARCUT_API_STAGING_BUCKET is unset: the route answers 404 saying so. */
  readonly remove: RemoveSettings | undefined;
}

/** No rendition this service makes comes near this; a bigger object is not ours to stream. */
const maxRenditionBytes = 1024 ** 3;
const statusUrl = (jobId: string) => `/v1/jobs/${jobId}`;
/** Uploads decoded at once: each may hold CLEARCUT_MAX_INPUT_PIXELS × 4 bytes until it is checked. */
const decodesAtOnce = 2;
/** Uploads in line for a decode, each holding its body; one more is answered 503 busy. */
const decodeLine = 8 * decodesAtOnce;
/** A busy process frees a place within about this; the caller waits this long before a retry. */
const busyRetryAfterSeconds = 1;
const busy = (detail: string) =>
  new ProblemError(problem('busy', detail, { retryAfterSeconds: busyRetryAfterSeconds }));

export function registerRemoveRoute(app: FastifyInstance, deps: RemoveRouteDeps): void {
  const settings = deps.remove;
  // On shutdown every wait ends at once: its caller gets the 202 (the job goes on) instead of
  // holding the drain for up to the whole wait.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const decodes = createDecodeSlots(decodesAtOnce, decodeLine);
  app.post(
    '/v1/remove',
    {
      ...(settings === undefined
        ? {}
        : { bodyLimit: settings.maxBodyBytes, onRequest: holdAtMost(settings.concurrency) }),
      preHandler: deps.authenticate({ scope: 'jobs:write', nonceByAdmission: true }),
    },
    async (request, reply) => {
      if (settings === undefined) {
        throw new ProblemError(
          problem(
            'not_found',
            'POST /v1/remove is off on this server: its operator has set no CLEARCUT_API_STAGING_BUCKET',
          ),
        );
      }
      const { jobId, staged, options, submission } = await stageAndAdmit(request, deps, settings, decodes);
      // The upload is in S3 now: let the body go rather than hold it through the wait.
      request.body = undefined;
      if (submission.kind === 'decided' && submission.decision.outcome === 'rejected') {
        throw new ProblemError(rejectionProblem(submission.decision.rejection));
      }
      const ref = { tenantId: principalOf(request).tenantId, jobId };
      const ended = waitEnds(reply, closing.signal);
      const outcome = await waitForItem(deps.db, ref, settings.waitMs, ended.signal).finally(ended.release);
      reply.header('clearcut-job-id', jobId);
      if (outcome === undefined) {
        reply.code(202).header('location', statusUrl(jobId)).header('retry-after', '1');
        const accepted: Answer<typeof jobAcceptedSchema> = {
          jobId,
          status: 'accepted',
          statusUrl: statusUrl(jobId),
          repeated: submission.kind === 'repeated',
        };
        return accepted;
      }
      return sendRendition(reply, settings.store, { jobId, staged, outcome }, options.parsed.format);
    },
  );
}

/**
 * Takes one of `most` places for the call before its body is read, and gives it back when the
 * answer is sent or the caller hangs up; with every place taken the call is answered 503 busy.
 */
function holdAtMost(most: number): onRequestAsyncHookHandler {
  let held = 0;
  return async (_request, reply) => {
    if (held >= most) {
      throw busy(
        `this API process already holds ${held} POST /v1/remove calls (its CLEARCUT_API_REMOVE_CONCURRENCY); retry after a second`,
      );
    }
    held++;
    reply.raw.once('close', () => held--);
  };
}

/**
 * Reads, checks and stages the upload and admits its job. Its own function so that nothing of
 * the upload's bytes stays referenced once it returns.
 */
async function stageAndAdmit(
  request: FastifyRequest,
  deps: RemoveRouteDeps,
  settings: RemoveSettings,
  decodes: DecodeSlots,
): Promise<{ jobId: string; staged: StagedJob; options: RemoveOptions; submission: Submission }> {
  const jobId = idempotencyKey(request);
  const upload = await readUpload(request.headers['content-type'], bodyOf(request));
  const read = readRemoveOptions(request.query as Record<string, unknown>, upload.renditionField);
  if ('problems' in read) {
    throw new ProblemError(
      problem('invalid_body', read.problems.slice(0, 10).join('; '), {
        problems: read.problems.slice(0, 50),
      }),
    );
  }
  const image = await decodes
    .run(() => checkImage(upload, settings.limits))
    .catch((error: unknown) => {
      if (!(error instanceof DecodeLineFull)) throw error;
      throw busy(`${error.message} in this API process; retry after a second`);
    });
  const principal = principalOf(request);
  const staged = stagedJob(
    settings.staging,
    { tenantId: principal.tenantId, jobId, image: upload.image, format: image.format },
    read.options,
  );
  const submission = await admitRemove(
    { ...deps, store: settings.store },
    { principal, jobId, staged, image: upload.image, format: image.format },
  );
  return { jobId, staged, options: read.options, submission };
}

/** The job id: the Idempotency-Key when given (a retry sends the same), else a new one. */
function idempotencyKey(request: FastifyRequest): string {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return `remove-${randomUUID()}`;
  if (typeof key === 'string' && messageIdPattern.test(key)) return key;
  throw new ProblemError(
    problem(
      'invalid_request',
      'Idempotency-Key must be 1–128 characters from A-Z a-z 0-9 _ - (it becomes the job id; a retry sends the same one)',
    ),
  );
}

async function sendRendition(
  reply: FastifyReply,
  store: BlobStore,
  { jobId, staged, outcome }: { jobId: string; staged: StagedJob; outcome: ItemOutcome },
  format: keyof typeof contentTypes,
) {
  if (outcome.status === 'failed') {
    const failure = `${outcome.errorCode ?? 'internal_error'}: ${outcome.errorMessage ?? ''}`;
    throw new ProblemError(
      problem('item_failed', `the worker could not make the rendition (${failure})`, { problems: [failure] }),
    );
  }
  const object = await store
    .openRead(staged.rendition.bucket, staged.rendition.key, { maxBytes: maxRenditionBytes })
    .catch((error: unknown) => {
      if (!(error instanceof PermanentError && error.code === 'not_found')) throw error;
      throw new ProblemError(
        problem(
          'not_found',
          `the rendition of job ${jobId} is no longer in the staging area (it expires there); send the image again under a new Idempotency-Key`,
        ),
      );
    });
  reply.code(200).header('content-type', contentTypes[format]);
  if (object.size !== undefined) reply.header('content-length', String(object.size));
  if (object.metadata.model !== undefined) reply.header('clearcut-model', object.metadata.model);
  // A synthetic stand-in's mask is meaningless: say so, as the worker's result event does.
  if (object.metadata['model-synthetic'] === 'true') reply.header('clearcut-synthetic-model', 'true');
  return reply.send(object.body);
}

/**
 * Aborts when the connection closes before the answer (nobody is left to wait for) or the server
 * shuts down. (Plain listeners: with AbortSignal.any, a shutdown under load was once not seen and
 * the wait ran its full length.) `release` drops the listeners again.
 */
function waitEnds(reply: FastifyReply, closing: AbortSignal) {
  const controller = new AbortController();
  const end = () => controller.abort();
  reply.raw.once('close', end);
  closing.addEventListener('abort', end, { once: true });
  if (closing.aborted) end();
  return {
    signal: controller.signal,
    release: () => {
      closing.removeEventListener('abort', end);
      reply.raw.off('close', end);
    },
  };
}
